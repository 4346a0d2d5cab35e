# Each function is deployed from its staged folder (make stage writes
# dist/functions/<name>/: the module's go.mod and go.sum, the packages the
# function imports, and a root package that blank-imports it), zipped and
# uploaded under a content-addressed name so a change redeploys it.

data "archive_file" "function" {
  for_each    = local.functions
  type        = "zip"
  source_dir  = "${local.dist_dir}/${each.key}"
  output_path = "${path.module}/.build/${each.key}.zip"
}

resource "google_storage_bucket_object" "function_source" {
  for_each = local.functions
  name     = "functions/${each.key}-${data.archive_file.function[each.key].output_md5}.zip"
  bucket   = google_storage_bucket.sources.name
  source   = data.archive_file.function[each.key].output_path
}

resource "google_cloudfunctions2_function" "function" {
  for_each    = local.functions
  name        = "${local.prefix}-${each.key}"
  location    = var.region
  description = "Megapipe ${each.key}: entry point ${each.value.entry_point}."

  build_config {
    runtime     = var.go_runtime
    entry_point = each.value.entry_point

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.function_source[each.key].name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.identity[each.key].email
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    timeout_seconds                  = each.value.timeout
    max_instance_count               = each.value.max_instances
    min_instance_count               = 0
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    max_instance_request_concurrency = try(each.value.concurrency, 1)
    environment_variables            = local.runtime_env
  }

  # The first trigger of config.Triggers for this function.
  event_trigger {
    trigger_region        = var.region
    event_type            = local.primary_trigger[each.key].topic != null ? "google.cloud.pubsub.topic.v1.messagePublished" : "google.cloud.storage.object.v1.finalized"
    pubsub_topic          = local.primary_trigger[each.key].topic != null ? google_pubsub_topic.topic[local.primary_trigger[each.key].topic].id : null
    retry_policy          = each.value.retry ? "RETRY_POLICY_RETRY" : "RETRY_POLICY_DO_NOT_RETRY"
    service_account_email = google_service_account.identity[each.key].email

    dynamic "event_filters" {
      for_each = local.primary_trigger[each.key].bucket != null ? [google_storage_bucket.bucket[local.primary_trigger[each.key].bucket].name] : []
      content {
        attribute = "bucket"
        value     = event_filters.value
      }
    }
  }

  depends_on = [
    google_project_service.api,
    google_project_iam_member.event_receiver,
    google_project_iam_member.gcs_pubsub_publisher,
    google_storage_bucket_iam_member.identity,
  ]
}

# A function's further triggers (Ingest on pipeline-trigger, Quantize on the
# models bucket): Eventarc triggers on the function's Cloud Run service, which
# has the function's name.
# Eventarc retries their failed deliveries with backoff.
resource "google_eventarc_trigger" "extra" {
  for_each        = local.extra_triggers
  name            = "${local.prefix}-${each.key}"
  location        = var.region
  service_account = google_service_account.identity[each.value.key].email

  matching_criteria {
    attribute = "type"
    value     = each.value.topic != null ? "google.cloud.pubsub.topic.v1.messagePublished" : "google.cloud.storage.object.v1.finalized"
  }

  dynamic "matching_criteria" {
    for_each = each.value.bucket != null ? [google_storage_bucket.bucket[each.value.bucket].name] : []
    content {
      attribute = "bucket"
      value     = matching_criteria.value
    }
  }

  dynamic "transport" {
    for_each = each.value.topic != null ? [google_pubsub_topic.topic[each.value.topic].id] : []
    content {
      pubsub {
        topic = transport.value
      }
    }
  }

  destination {
    cloud_run_service {
      service = google_cloudfunctions2_function.function[each.value.key].name
      region  = var.region
    }
  }

  depends_on = [
    google_project_iam_member.event_receiver,
    google_cloud_run_v2_service_iam_member.function_invoker,
  ]
}
