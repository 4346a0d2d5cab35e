resource "google_monitoring_alert_policy" "p" {
  display_name = "p"
  combiner     = "OR"

  conditions {
    display_name = "c"
  }

  dynamic "condition" {
    for_each = []
    content {
      display_name = "c"
    }
  }
}
