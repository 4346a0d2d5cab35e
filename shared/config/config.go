package config

import (
	"fmt"
	"os"
	"strings"
)

// Topic names. Each message published on a pipeline topic carries a JSON
// payload from package events.
const (
	TopicPipelineTrigger = "pipeline-trigger" // a person or the drift check asks a step to (re)run
	TopicDatasetReady    = "dataset-ready"    // ingest -> featurize
	TopicFeaturesReady   = "features-ready"   // featurize -> train
	TopicModelTrained    = "model-trained"    // train -> distill
	TopicModelDistilled  = "model-distilled"  // distill -> quantize
	TopicModelQuantized  = "model-quantized"  // quantize -> deploy
	TopicModelDeployed   = "model-deployed"   // deploy -> (serving instances watch the registry)
	TopicPredictions     = "predictions"      // inference service -> collect
	TopicDriftTick       = "drift-tick"       // Cloud Scheduler -> driftcheck
	TopicDriftAlerts     = "drift-alerts"     // driftcheck and alert policies -> people
	TopicStorageEvents   = "gcs-events"       // local only: fake-gcs-server notifications -> router
	TopicDeadLetter      = "dead-letter"      // events that failed their bounded retries
)

// PipelineTopics lists every topic the system uses, for the local stack and
// Terraform tests to create or check.
var PipelineTopics = []string{
	TopicPipelineTrigger, TopicDatasetReady, TopicFeaturesReady, TopicModelTrained,
	TopicModelDistilled, TopicModelQuantized, TopicModelDeployed, TopicPredictions,
	TopicDriftTick, TopicDriftAlerts, TopicDeadLetter,
}

// Function entry points: the names the functions register with
// functions-framework-go, the --entry-point in the cloud, and the path
// (/<Name>) under which the local stack serves them.
const (
	FuncIngest     = "Ingest"
	FuncFeaturize  = "Featurize"
	FuncTrain      = "Train"
	FuncDistill    = "Distill"
	FuncQuantize   = "Quantize"
	FuncDeploy     = "Deploy"
	FuncCollect    = "Collect"
	FuncDriftCheck = "DriftCheck"
)

// Firestore collections.
const (
	CollRuns   = "runs"   // run records, one document per run id
	CollLedger = "ledger" // idempotency ledger: completed events
	CollModels = "models" // registry: one document per model name, versions below it
	CollDrift  = "drift"  // drift check summaries
)

// Trigger is one Eventarc-style trigger: which events reach which function.
// The local router and the Terraform files are built from the same table.
type Trigger struct {
	Function string // entry point
	Topic    string // a Pub/Sub topic, or "" for a storage trigger
	Bucket   string // "raw" or "models" for a storage finalize trigger
}

// Triggers is the event wiring of the chain (../shared/DESIGN.md).
var Triggers = []Trigger{
	{Function: FuncIngest, Bucket: "raw"},
	{Function: FuncIngest, Topic: TopicPipelineTrigger},
	{Function: FuncFeaturize, Topic: TopicDatasetReady},
	{Function: FuncTrain, Topic: TopicFeaturesReady},
	{Function: FuncDistill, Topic: TopicModelTrained},
	{Function: FuncQuantize, Topic: TopicModelDistilled},
	{Function: FuncQuantize, Bucket: "models"},
	{Function: FuncDeploy, Topic: TopicModelQuantized},
	{Function: FuncCollect, Topic: TopicPredictions},
	{Function: FuncDriftCheck, Topic: TopicDriftTick},
}

// DriftSchedule is the cron schedule of the drift check, used by Terraform's
// Cloud Scheduler job and by the local stack's scheduler.
const DriftSchedule = "*/5 * * * *"

// DefaultProject is the project id used against the local emulators.
const DefaultProject = "megapipe-local"

// Config is the environment of a function, the server or the CLI.
type Config struct {
	Project            string
	RawBucket          string
	ModelsBucket       string
	ArtifactsBucket    string
	MonitoringEndpoint string
	TrainBackend       string
	LogLevel           string
}

// FromEnv reads the configuration from the environment.
func FromEnv() (Config, error) {
	return fromLookup(os.LookupEnv)
}

func fromLookup(lookup func(string) (string, bool)) (Config, error) {
	get := func(k, def string) string {
		if v, ok := lookup(k); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	c := Config{Project: get("GOOGLE_CLOUD_PROJECT", get("GCP_PROJECT", DefaultProject))}
	prefix := get("MEGA_PREFIX", c.Project)
	c.RawBucket = get("MEGA_RAW_BUCKET", prefix+"-raw")
	c.ModelsBucket = get("MEGA_MODELS_BUCKET", prefix+"-models")
	c.ArtifactsBucket = get("MEGA_ARTIFACTS_BUCKET", prefix+"-artifacts")
	c.MonitoringEndpoint = get("MEGA_MONITORING_ENDPOINT", "")
	c.TrainBackend = get("MEGA_TRAIN_BACKEND", "local")
	c.LogLevel = get("MEGA_LOG_LEVEL", "info")
	switch c.TrainBackend {
	case "local", "kubeflow":
	default:
		return Config{}, fmt.Errorf("config: MEGA_TRAIN_BACKEND=%q: want local or kubeflow", c.TrainBackend)
	}
	return c, nil
}
