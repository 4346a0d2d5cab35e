resource "google_pubsub_topic" "ready" {
  name = "dataset-ready"
}

resource "google_pubsub_subscription" "sub" {
  name                 = "dataset-ready-audit"
  ack_deadline_seconds = 60
}
