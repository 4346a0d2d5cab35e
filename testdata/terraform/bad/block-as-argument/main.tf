resource "google_storage_bucket" "raw" {
  name       = "megapipe-raw"
  location   = "us-central1"
  versioning = { enabled = true }
}
