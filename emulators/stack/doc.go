// Package stack runs the whole local Google Cloud stand-in as one unit:
// the gcloud Pub/Sub and Firestore emulators, the embedded Cloud Storage
// (package gcs), the Cloud Monitoring emulator, the functions host, the
// Eventarc-style router, the Cloud Scheduler stand-in and, when the binary
// has it, the inference service.
//
// Up starts a detached supervisor (`mega local run`, its own session) and
// returns when the supervisor has written <dir>/stack.json, which it does
// only once every part answers. The supervisor starts the emulators and the
// child processes (the functions host `mega functions serve --port P`, the
// inference service `mega serve --port P`), runs GCS, Monitoring, the router
// and the scheduler in its own process, creates the topics and buckets, and
// on SIGTERM stops everything in reverse order. Logs go to <dir>/logs/.
//
// Down signals the supervisor and waits until no process of its session is
// left (the emulators and children are in that session, in process groups of
// their own), killing stragglers after a grace period. Every child also dies
// with the supervisor if it is killed (PR_SET_PDEATHSIG).
//
// Load reads stack.json; (*State).Env and Apply give every other command the
// environment that points the official clients at the stack:
// PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST, STORAGE_EMULATOR_HOST,
// GOOGLE_CLOUD_PROJECT, MEGA_MONITORING_ENDPOINT, MEGA_MONITORING_DASHBOARD,
// MEGA_SERVE_URL (when the inference service runs) and the bucket names
// (MEGA_RAW_BUCKET, MEGA_MODELS_BUCKET, MEGA_ARTIFACTS_BUCKET).
// STORAGE_EMULATOR_HOST carries its scheme (http://host:port), which
// Google's Python client needs and the Go client accepts. For gcloud it adds
// CLOUDSDK_CORE_PROJECT, CLOUDSDK_AUTH_DISABLE_CREDENTIALS=true and the
// endpoint overrides CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB (the emulator)
// and CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE (http://host:port/storage/v1/),
// so `gcloud storage cp FILE gs://PROJECT-raw/NAME/` and `gcloud pubsub
// topics publish` reach the stack.
//
// State is in memory: Down discards the Pub/Sub, Firestore and Cloud
// Storage content; only the Monitoring emulator keeps its history in
// <dir>/monitoring.json.
//
// Ports: Pub/Sub 8085, Firestore 8086 (websocket 8087), GCS 4443, serve
// 8080, Monitoring gRPC 8088 and dashboard 8089, functions 8090, router
// control 8091; a port that is taken is replaced by a free one, and
// stack.json and `mega local status` say which were used.
package stack
