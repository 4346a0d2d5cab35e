variable "region" {
  type = string
}

resource "google_pubsub_topic" "ready" {
  name = local.topic_name
}

resource "google_pubsub_subscription" "sub" {
  name  = "audit"
  topic = google_pubsub_topic.reddy.id
}

resource "google_storage_bucket" "raw" {
  name     = data.google_project.this.name
  location = var.regoin
}

output "x" {
  value = module.net.id
}
