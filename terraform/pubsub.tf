# The pipeline topics (config.PipelineTopics). The functions' Eventarc
# triggers create and manage their own push subscriptions (with the retry
# policy set on each trigger); the subscriptions here are the ones people and
# tools pull from, each with a dead-letter topic and a retry policy.

locals {
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  subscriptions = {
    # Drift alerts for people and chat hooks.
    drift-alerts-ops = { topic = "drift-alerts", dead_letter = true, retention = "604800s" }
    # Deployments, for anything that follows the serving pointer.
    model-deployed-audit = { topic = "model-deployed", dead_letter = true, retention = "604800s" }
    # Everything that failed its bounded retries, kept for a week to inspect
    # and replay.
    dead-letter-archive = { topic = "dead-letter", dead_letter = false, retention = "604800s" }
  }
}

resource "google_pubsub_topic" "topic" {
  for_each                   = toset(local.topics)
  name                       = each.value
  message_retention_duration = "86400s"
  depends_on                 = [google_project_service.api]
}

resource "google_pubsub_subscription" "sub" {
  for_each                   = local.subscriptions
  name                       = each.key
  topic                      = google_pubsub_topic.topic[each.value.topic].id
  ack_deadline_seconds       = 60
  message_retention_duration = each.value.retention

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dynamic "dead_letter_policy" {
    for_each = each.value.dead_letter ? [google_pubsub_topic.topic["dead-letter"].id] : []
    content {
      dead_letter_topic     = dead_letter_policy.value
      max_delivery_attempts = 10
    }
  }

  expiration_policy {
    ttl = ""
  }
}

# The Pub/Sub service agent forwards undeliverable messages: it publishes to
# the dead-letter topic and acknowledges on the source subscriptions.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.topic["dead-letter"].name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each     = { for k, s in local.subscriptions : k => s if s.dead_letter }
  subscription = google_pubsub_subscription.sub[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
