# One service account per function and service, with only the roles it needs
# (local.identities in main.tf).

resource "google_service_account" "identity" {
  for_each     = local.identities
  account_id   = "${local.sa_prefix}-${each.key}"
  display_name = "Megapipe ${each.key}"
  description  = "Runs the Megapipe ${each.key} ${contains(keys(local.functions), each.key) ? "function" : "service"}."
}

resource "google_storage_bucket_iam_member" "identity" {
  for_each = local.bucket_grants
  bucket   = google_storage_bucket.bucket[each.value.bucket].name
  role     = each.value.role
  member   = google_service_account.identity[each.value.id].member
}

resource "google_pubsub_topic_iam_member" "identity" {
  for_each = local.topic_grants
  topic    = google_pubsub_topic.topic[each.value.topic].name
  role     = "roles/pubsub.publisher"
  member   = google_service_account.identity[each.value.id].member
}

resource "google_project_iam_member" "identity" {
  for_each = local.project_grants
  project  = var.project
  role     = each.value.role
  member   = google_service_account.identity[each.value.id].member
}

# Each function's account is also the identity of its Eventarc triggers: it
# receives the events and invokes the function's Cloud Run service (a 2nd
# generation function runs as the Cloud Run service of the same name).
resource "google_project_iam_member" "event_receiver" {
  for_each = local.functions
  project  = var.project
  role     = "roles/eventarc.eventReceiver"
  member   = google_service_account.identity[each.key].member
}

resource "google_cloud_run_v2_service_iam_member" "function_invoker" {
  for_each = local.functions
  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.identity[each.key].member
}

# With the kubeflow backend, train submits Vertex AI pipeline runs that run as
# the pipeline account.
resource "google_service_account_iam_member" "train_acts_as_pipeline" {
  count              = var.train_backend == "kubeflow" ? 1 : 0
  service_account_id = google_service_account.identity["pipeline"].name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.identity["train"].member
}
