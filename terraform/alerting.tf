# Alert policies and the dashboard are defined once, as Monitoring REST JSON,
# in shared/alerting (also loaded by the local Monitoring emulator). Here they
# are decoded and turned into resources; the notification channels are added.

locals {
  # The file generated for the drift policy the check uses (shared/alerting/gen).
  alert_policy_file = var.drift_policy == "default" ? "policies.json" : "policies_${var.drift_policy}.json"
  alert_policies    = { for p in jsondecode(file("${path.module}/../shared/alerting/${local.alert_policy_file}")) : p.displayName => p }
  dashboard_json    = file("${path.module}/../shared/alerting/dashboard.json")

  monitoring_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-monitoring-notification.iam.gserviceaccount.com"

  notification_channels = concat(
    [google_monitoring_notification_channel.drift_alerts.id],
    [for c in google_monitoring_notification_channel.email : c.id],
  )
}

resource "google_monitoring_notification_channel" "drift_alerts" {
  display_name = "Megapipe drift-alerts topic"
  type         = "pubsub"
  labels = {
    topic = google_pubsub_topic.topic["drift-alerts"].id
  }
  depends_on = [google_project_service.api]
}

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email != "" ? 1 : 0
  display_name = "Megapipe drift alerts by email"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
  depends_on = [google_project_service.api]
}

# Cloud Monitoring's notification agent publishes incidents to drift-alerts.
# The agent exists once the project has a notification channel.
resource "google_pubsub_topic_iam_member" "monitoring_publisher" {
  topic      = google_pubsub_topic.topic["drift-alerts"].name
  role       = "roles/pubsub.publisher"
  member     = local.monitoring_agent
  depends_on = [google_monitoring_notification_channel.drift_alerts]
}

resource "google_monitoring_alert_policy" "policy" {
  for_each              = local.alert_policies
  display_name          = each.value.displayName
  combiner              = each.value.combiner
  enabled               = try(each.value.enabled, true)
  severity              = try(each.value.severity, null)
  user_labels           = try(each.value.userLabels, null)
  notification_channels = local.notification_channels

  dynamic "documentation" {
    for_each = can(each.value.documentation) ? [each.value.documentation] : []
    content {
      content   = try(documentation.value.content, null)
      mime_type = try(documentation.value.mimeType, null)
    }
  }

  dynamic "alert_strategy" {
    for_each = can(each.value.alertStrategy) ? [each.value.alertStrategy] : []
    content {
      auto_close = try(alert_strategy.value.autoClose, null)
    }
  }

  dynamic "conditions" {
    for_each = each.value.conditions
    content {
      display_name = conditions.value.displayName

      dynamic "condition_threshold" {
        for_each = can(conditions.value.conditionThreshold) ? [conditions.value.conditionThreshold] : []
        content {
          filter          = condition_threshold.value.filter
          comparison      = condition_threshold.value.comparison
          threshold_value = try(condition_threshold.value.thresholdValue, null)
          duration        = condition_threshold.value.duration

          dynamic "aggregations" {
            for_each = try(condition_threshold.value.aggregations, [])
            content {
              alignment_period     = try(aggregations.value.alignmentPeriod, null)
              per_series_aligner   = try(aggregations.value.perSeriesAligner, null)
              cross_series_reducer = try(aggregations.value.crossSeriesReducer, null)
              group_by_fields      = try(aggregations.value.groupByFields, null)
            }
          }

          dynamic "trigger" {
            for_each = can(condition_threshold.value.trigger) ? [condition_threshold.value.trigger] : []
            content {
              count   = try(trigger.value.count, null)
              percent = try(trigger.value.percent, null)
            }
          }
        }
      }
    }
  }

  depends_on = [google_pubsub_topic_iam_member.monitoring_publisher]
}

resource "google_monitoring_dashboard" "main" {
  dashboard_json = local.dashboard_json
  depends_on     = [google_project_service.api]
}
