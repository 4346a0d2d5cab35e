# The inference service (mega serve) on Cloud Run, from the image that
# cloudbuild.yaml pushes to Artifact Registry. Private: only the members in
# var.serve_invokers may call it.

resource "google_artifact_registry_repository" "mega" {
  location      = var.region
  repository_id = local.prefix
  format        = "DOCKER"
  description   = "Megapipe images: mega (inference service and Kubeflow components)."
  depends_on    = [google_project_service.api]
}

resource "google_cloud_run_v2_service" "serve" {
  name                = "${local.prefix}-serve"
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = false

  template {
    service_account                  = google_service_account.identity["serve"].email
    max_instance_request_concurrency = 80
    timeout                          = "30s"

    scaling {
      min_instance_count = 0
      max_instance_count = 20
    }

    containers {
      image = local.image
      args  = ["serve", "--port", "8080"]

      # h2c: Cloud Run speaks HTTP/2 cleartext to the container end to end,
      # which gRPC needs; mega serve answers REST (HTTP/1.1 and h2c) and
      # gRPC on this one port.
      ports {
        name           = "h2c"
        container_port = 8080
      }

      # grpc.health.v1 on the same port: SERVING once the initial load is
      # done and a model serves.
      startup_probe {
        grpc {
          port = 8080
        }
        period_seconds    = 2
        failure_threshold = 30
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "1Gi"
        }
        cpu_idle = true
      }

      dynamic "env" {
        for_each = local.runtime_env
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }

  depends_on = [google_project_service.api, google_project_iam_member.identity]
}

resource "google_cloud_run_v2_service_iam_member" "serve_invoker" {
  for_each = toset(var.serve_invokers)
  project  = var.project
  location = var.region
  name     = google_cloud_run_v2_service.serve.name
  role     = "roles/run.invoker"
  member   = each.value
}
