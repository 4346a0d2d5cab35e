resource "google_cloudfunction2_function" "fn" {
  name     = "ingest"
  location = "us-central1"
}
