output "raw_bucket" {
  description = "Drop data files here (mega drop FILE --dataset NAME --project PROJECT)."
  value       = google_storage_bucket.bucket["raw"].name
}

output "models_bucket" {
  description = "Drop float .tflite models here to have them quantized."
  value       = google_storage_bucket.bucket["models"].name
}

output "artifacts_bucket" {
  description = "Everything derived, keyed by run id."
  value       = google_storage_bucket.bucket["artifacts"].name
}

output "service_url" {
  description = "The private inference service (call it with an identity token of a member of serve_invokers)."
  value       = google_cloud_run_v2_service.serve.uri
}

output "image" {
  description = "The container image the inference service runs."
  value       = local.image
}

output "functions" {
  description = "The deployed functions by folder name."
  value       = { for k, f in google_cloudfunctions2_function.function : k => f.name }
}

output "dashboard_url" {
  description = "The Megapipe dashboard in the Cloud console."
  value       = "https://console.cloud.google.com/monitoring/dashboards/builder/${element(split("/", google_monitoring_dashboard.main.id), 3)}?project=${var.project}"
}

output "alert_policies" {
  description = "The alert policies by display name."
  value       = { for k, p in google_monitoring_alert_policy.policy : k => p.name }
}

output "pipeline_service_account" {
  description = "The service account Vertex AI pipeline runs use (mega kfp submit --service-account)."
  value       = google_service_account.identity["pipeline"].email
}
