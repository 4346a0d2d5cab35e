# The drift check's clock: Cloud Scheduler publishes to drift-tick on
# config.DriftSchedule, like the local stack's scheduler.

resource "google_cloud_scheduler_job" "drift_tick" {
  name        = "${local.prefix}-drift-tick"
  region      = var.region
  description = "Publishes to drift-tick; the DriftCheck function runs on each message."
  schedule    = local.drift_schedule
  time_zone   = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.topic["drift-tick"].id
    data       = base64encode(jsonencode({ step = "driftcheck" }))
  }

  retry_config {
    retry_count = 1
  }

  depends_on = [google_project_service.api]
}
