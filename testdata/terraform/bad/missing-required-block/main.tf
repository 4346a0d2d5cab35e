resource "google_eventarc_trigger" "extra" {
  name     = "ingest-pipeline-trigger"
  location = "us-central1"

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.pubsub.topic.v1.messagePublished"
  }
}
