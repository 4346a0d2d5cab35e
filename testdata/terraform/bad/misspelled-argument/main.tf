resource "google_storage_bucket" "raw" {
  name                        = "megapipe-raw"
  location                    = "us-central1"
  uniform_bucket_level_access = true
}

resource "google_pubsub_topic" "ready" {
  name = "dataset-ready"
}

resource "google_storage_bucket" "models" {
  name    = "megapipe-models"
  locaton = "us-central1"
}
