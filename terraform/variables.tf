variable "project" {
  description = "Google Cloud project id to deploy into."
  type        = string
}

variable "region" {
  description = "Region of the functions, the inference service, the buckets and the scheduler job."
  type        = string
  default     = "us-central1"
}

variable "prefix" {
  description = "Name prefix of buckets and services; empty means the project id (the default of MEGA_PREFIX in shared/config)."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^([a-z][-a-z0-9]{0,20})?$", var.prefix))
    error_message = "The prefix must be empty or start with a lower-case letter and hold at most 21 lower-case letters, digits and hyphens."
  }
}

variable "alert_email" {
  description = "Email address that receives drift alerts; empty for none (the drift-alerts Pub/Sub channel is always created)."
  type        = string
  default     = ""
}

variable "drift_policy" {
  description = "Drift policy of the drift check (MEGA_DRIFT_POLICY): default (Evidently's rules) or vertex (Vertex AI Model Monitoring's thresholds). The alert policies come from the file generated for the same policy, so they fire above the thresholds the check uses."
  type        = string
  default     = "default"

  validation {
    condition     = contains(["default", "vertex"], var.drift_policy)
    error_message = "The drift policy must be default or vertex."
  }
}

variable "image" {
  description = "Container image of mega for the inference service; empty means <region>-docker.pkg.dev/<project>/<prefix>/mega:latest, as pushed by cloudbuild.yaml."
  type        = string
  default     = ""
}

variable "go_runtime" {
  description = "Cloud Functions Go runtime of the functions."
  type        = string
  default     = "go125"
}

variable "dist_dir" {
  description = "Folder of the staged functions (make stage); empty means ../dist/functions next to this folder."
  type        = string
  default     = ""
}

variable "firestore_location" {
  description = "Location of the Firestore database (a multi-region such as nam5 or eur3, or a region)."
  type        = string
  default     = "nam5"
}

variable "train_backend" {
  description = "Training backend of the train function: local (in the function) or kubeflow (Vertex AI Pipelines)."
  type        = string
  default     = "local"

  validation {
    condition     = contains(["local", "kubeflow"], var.train_backend)
    error_message = "The train backend must be local or kubeflow."
  }
}

variable "serve_invokers" {
  description = "IAM members allowed to call the inference service (for example user:you@example.com). The service is private: allUsers is refused."
  type        = list(string)
  default     = []

  validation {
    condition     = !contains(var.serve_invokers, "allUsers") && !contains(var.serve_invokers, "allAuthenticatedUsers")
    error_message = "The inference service is private: allUsers and allAuthenticatedUsers are not allowed."
  }
}
