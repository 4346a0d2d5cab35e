resource "google_pubsub_topic" "ready" {
  name = "dataset-ready"
  message_retention_duration = "86400s"
}
