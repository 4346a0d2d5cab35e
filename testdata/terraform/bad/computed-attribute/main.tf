resource "google_cloudfunctions2_function" "fn" {
  name     = "ingest"
  location = "us-central1"
  url      = "https://example.com/ingest"
}
