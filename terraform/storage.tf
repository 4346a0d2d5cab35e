# Three buckets, because Eventarc's storage triggers fire per bucket: raw
# (people drop data; triggers ingest), models (people drop float models;
# triggers quantize), artifacts (everything derived; no trigger). A fourth
# holds the zipped function sources.

locals {
  buckets = {
    raw       = { versioning = true, artifacts_lifecycle = false }
    models    = { versioning = true, artifacts_lifecycle = false }
    artifacts = { versioning = false, artifacts_lifecycle = true }
  }
}

resource "google_storage_bucket" "bucket" {
  for_each                    = local.buckets
  name                        = "${local.prefix}-${each.key}"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = each.value.versioning
  }

  # Artifacts are keyed by run id and can be rebuilt from raw data: move them
  # to colder storage after 30 days and delete them after a year.
  dynamic "lifecycle_rule" {
    for_each = each.value.artifacts_lifecycle ? [{ age = 30, type = "SetStorageClass", storage_class = "NEARLINE" }, { age = 365, type = "Delete", storage_class = null }] : []
    content {
      condition {
        age = lifecycle_rule.value.age
      }
      action {
        type          = lifecycle_rule.value.type
        storage_class = lifecycle_rule.value.storage_class
      }
    }
  }

  # Keep only the last five noncurrent versions of raw data and models.
  dynamic "lifecycle_rule" {
    for_each = each.value.versioning ? [5] : []
    content {
      condition {
        num_newer_versions = lifecycle_rule.value
        with_state         = "ARCHIVED"
      }
      action {
        type = "Delete"
      }
    }
  }

  depends_on = [google_project_service.api]
}

resource "google_storage_bucket" "sources" {
  name                        = "${local.prefix}-function-sources"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.api]
}

# Cloud Storage publishes object-finalize events for Eventarc through Pub/Sub.
data "google_storage_project_service_account" "gcs" {
  project = var.project
}

resource "google_project_iam_member" "gcs_pubsub_publisher" {
  project = var.project
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}
