// Package config is the one place where Megapipe reads its configuration from
// the environment, and where the names every part agrees on are defined:
// topics, buckets, Firestore collections and function entry points.
//
// The same code runs locally and in the cloud; only endpoints differ. The
// Google Cloud clients find the local emulators through their own standard
// variables (PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST,
// STORAGE_EMULATOR_HOST); Cloud Monitoring, which has no official emulator,
// is pointed at the local one with MEGA_MONITORING_ENDPOINT.
//
// Variables (all optional, defaults in brackets):
//
//	GOOGLE_CLOUD_PROJECT     project id [megapipe-local]
//	MEGA_PREFIX              name prefix of buckets [the project id]
//	MEGA_RAW_BUCKET          where people drop data [<prefix>-raw]
//	MEGA_MODELS_BUCKET       where people drop float models [<prefix>-models]
//	MEGA_ARTIFACTS_BUCKET    everything derived [<prefix>-artifacts]
//	MEGA_MONITORING_ENDPOINT host:port of a Monitoring API without TLS (local emulator) [the real service]
//	MEGA_MONITORING_DASHBOARD http://host:port of the local Monitoring emulator's dashboard (mega alerts)
//	MEGA_TRAIN_BACKEND       local | kubeflow [local]
//	MEGA_LOG_LEVEL           debug | info | warn | error [info]
//	MEGA_REGION              Vertex AI Pipelines region [us-central1]
//	MEGA_IMAGE               the mega container image, for Kubeflow components
//	MEGA_VERTEX_ENDPOINT     host:port of a Vertex AI API without TLS (tests) [the real service]
package config
