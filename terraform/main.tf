# The names here are those of shared/config (topics, entry points, the trigger
# table, the drift schedule); internal/tfcheck's test fails when they differ.

locals {
  prefix    = var.prefix != "" ? var.prefix : var.project
  dist_dir  = var.dist_dir != "" ? var.dist_dir : "${path.module}/../dist/functions"
  image     = var.image != "" ? var.image : "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.mega.repository_id}/mega:latest"
  sa_prefix = substr(local.prefix, 0, 14)

  # config.PipelineTopics
  topics = [
    "pipeline-trigger",
    "dataset-ready",
    "features-ready",
    "model-trained",
    "model-distilled",
    "model-quantized",
    "model-deployed",
    "predictions",
    "drift-tick",
    "drift-alerts",
    "dead-letter",
  ]

  # config.Triggers, in the same order: a function's first trigger is its
  # Cloud Functions event_trigger, the others are Eventarc triggers on the
  # function's Cloud Run service.
  triggers = [
    { function = "Ingest", topic = null, bucket = "raw" },
    { function = "Ingest", topic = "pipeline-trigger", bucket = null },
    { function = "Featurize", topic = "dataset-ready", bucket = null },
    { function = "Train", topic = "features-ready", bucket = null },
    { function = "Distill", topic = "model-trained", bucket = null },
    { function = "Quantize", topic = "model-distilled", bucket = null },
    { function = "Quantize", topic = null, bucket = "models" },
    { function = "Deploy", topic = "model-quantized", bucket = null },
    { function = "Collect", topic = "predictions", bucket = null },
    { function = "DriftCheck", topic = "drift-tick", bucket = null },
  ]

  # config.DriftSchedule
  drift_schedule = "*/5 * * * *"

  # The functions, keyed by their folder under functions/ (the staged folder
  # under dist/functions). Every function is idempotent (../shared/DESIGN.md),
  # so every trigger retries failed deliveries. Collect takes many batches at
  # once per instance (concurrency) so that batches of one window are merged
  # into its aggregate profile in one write (group commit; Cloud Storage takes
  # about one write a second per object), on few instances.
  functions = {
    ingest     = { entry_point = "Ingest", memory = "1Gi", cpu = "1", timeout = 540, max_instances = 10, retry = true }
    featurize  = { entry_point = "Featurize", memory = "1Gi", cpu = "1", timeout = 540, max_instances = 10, retry = true }
    train      = { entry_point = "Train", memory = "4Gi", cpu = "2", timeout = 540, max_instances = 5, retry = true }
    distill    = { entry_point = "Distill", memory = "4Gi", cpu = "2", timeout = 540, max_instances = 5, retry = true }
    quantize   = { entry_point = "Quantize", memory = "2Gi", cpu = "1", timeout = 540, max_instances = 5, retry = true }
    deploy     = { entry_point = "Deploy", memory = "256Mi", cpu = "0.167", timeout = 60, max_instances = 5, retry = true }
    collect    = { entry_point = "Collect", memory = "512Mi", cpu = "1", timeout = 120, max_instances = 4, retry = true, concurrency = 16 }
    driftcheck = { entry_point = "DriftCheck", memory = "2Gi", cpu = "1", timeout = 540, max_instances = 1, retry = true }
  }

  function_triggers = { for k, f in local.functions : k => [for t in local.triggers : t if t.function == f.entry_point] }
  primary_trigger   = { for k, ts in local.function_triggers : k => ts[0] }
  extra_triggers = merge([
    for k, ts in local.function_triggers : {
      for i, t in ts : "${k}-${t.topic != null ? t.topic : t.bucket}" => merge(t, { key = k }) if i > 0
    }
  ]...)

  # What each identity may touch: buckets it reads and writes, topics it
  # publishes to, project roles. One service account per function and
  # service; nothing more than this.
  identities = {
    ingest     = { reads = ["raw"], writes = ["artifacts"], publishes = ["dataset-ready"], roles = ["roles/datastore.user"] }
    featurize  = { reads = [], writes = ["artifacts"], publishes = ["features-ready"], roles = ["roles/datastore.user"] }
    train      = { reads = [], writes = ["artifacts"], publishes = ["model-trained"], roles = concat(["roles/datastore.user"], var.train_backend == "kubeflow" ? ["roles/aiplatform.user"] : []) }
    distill    = { reads = [], writes = ["artifacts"], publishes = ["model-distilled"], roles = ["roles/datastore.user"] }
    quantize   = { reads = ["models"], writes = ["artifacts"], publishes = ["model-quantized"], roles = ["roles/datastore.user"] }
    deploy     = { reads = ["artifacts"], writes = [], publishes = ["model-deployed"], roles = ["roles/datastore.user"] }
    collect    = { reads = [], writes = ["artifacts"], publishes = [], roles = ["roles/datastore.user"] }
    driftcheck = { reads = [], writes = ["artifacts"], publishes = ["drift-alerts", "pipeline-trigger"], roles = ["roles/datastore.user", "roles/monitoring.metricWriter"] }
    serve      = { reads = ["artifacts"], writes = [], publishes = ["predictions"], roles = ["roles/datastore.viewer", "roles/monitoring.metricWriter"] }
    pipeline   = { reads = [], writes = ["artifacts"], publishes = ["model-distilled", "model-quantized"], roles = ["roles/datastore.user", "roles/aiplatform.user"] }
  }

  bucket_grants = merge([
    for id, p in local.identities : merge(
      { for b in p.reads : "${id}-read-${b}" => { id = id, bucket = b, role = "roles/storage.objectViewer" } },
      { for b in p.writes : "${id}-write-${b}" => { id = id, bucket = b, role = "roles/storage.objectUser" } },
    )
  ]...)
  topic_grants   = merge([for id, p in local.identities : { for t in p.publishes : "${id}-${t}" => { id = id, topic = t } }]...)
  project_grants = merge([for id, p in local.identities : { for r in p.roles : "${id}-${r}" => { id = id, role = r } }]...)

  # The environment of every function and of the inference service
  # (shared/config.FromEnv).
  runtime_env = {
    GOOGLE_CLOUD_PROJECT  = var.project
    MEGA_PREFIX           = local.prefix
    MEGA_RAW_BUCKET       = google_storage_bucket.bucket["raw"].name
    MEGA_MODELS_BUCKET    = google_storage_bucket.bucket["models"].name
    MEGA_ARTIFACTS_BUCKET = google_storage_bucket.bucket["artifacts"].name
    MEGA_TRAIN_BACKEND    = var.train_backend
    MEGA_LOG_LEVEL        = "info"
    MEGA_DRIFT_POLICY     = var.drift_policy
  }

  services = [
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ]
}

data "google_project" "this" {
  project_id = var.project
}

resource "google_project_service" "api" {
  for_each           = toset(local.services)
  project            = var.project
  service            = each.value
  disable_on_destroy = false
}

resource "google_firestore_database" "default" {
  project     = var.project
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"
  depends_on  = [google_project_service.api]
}
