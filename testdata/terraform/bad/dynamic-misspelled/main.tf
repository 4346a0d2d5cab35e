locals {
  conds = [{ name = "share", filter = "metric.type=\"x\"" }]
}

resource "google_monitoring_alert_policy" "p" {
  display_name = "p"
  combiner     = "OR"

  dynamic "conditions" {
    for_each = local.conds
    content {
      display_name = conditions.value.name
      condition_threshold {
        filter    = conditions.value.filter
        duration  = "0s"
        comparson = "COMPARISON_GT"
      }
    }
  }
}
