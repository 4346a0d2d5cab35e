resource "google_cloudfunctions2_function" "fn" {
  name     = "ingest"
  location = "us-central1"

  build_config {
    runtime    = "go125"
    entrypoint = "Ingest"
  }
}
