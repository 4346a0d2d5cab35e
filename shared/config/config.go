package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
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
	// CollDatasets holds each dataset's schema (inferred on the first drop,
	// enforced after).
	CollDatasets = "datasets"
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

// DefaultCollectWindow is the length of the windows collect files logged
// predictions in, and that the drift check merges.
const DefaultCollectWindow = 5 * time.Minute

// CollectWindow reads MEGA_COLLECT_WINDOW: a duration of at least one minute;
// anything else means DefaultCollectWindow. Collect and the drift check both
// read it here, so they agree on the object layout.
func CollectWindow(lookup func(string) (string, bool)) time.Duration {
	if v, ok := lookup("MEGA_COLLECT_WINDOW"); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(v)); err == nil && d >= time.Minute {
			return d
		}
	}
	return DefaultCollectWindow
}

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
	Region             string // MEGA_REGION [us-central1]: Vertex AI Pipelines region
	Image              string // MEGA_IMAGE: the mega container image (Kubeflow components, Cloud Run)
	VertexEndpoint     string // MEGA_VERTEX_ENDPOINT: host:port of a Vertex AI API without TLS (tests) [the real service]
}

// FromEnv reads the configuration from the environment.
func FromEnv() (Config, error) {
	return fromLookup(os.LookupEnv)
}

// FromLookup reads the configuration from lookup (os.LookupEnv, or the
// environment with a caller's settings over it), so a caller passes
// configuration explicitly instead of changing the process environment.
func FromLookup(lookup func(string) (string, bool)) (Config, error) { return fromLookup(lookup) }

// Over returns a lookup that answers from vars first, then from lookup.
func Over(lookup func(string) (string, bool), vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if v, ok := vars[k]; ok {
			return v, true
		}
		return lookup(k)
	}
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
	c.Region = get("MEGA_REGION", "us-central1")
	c.Image = get("MEGA_IMAGE", "")
	c.VertexEndpoint = get("MEGA_VERTEX_ENDPOINT", "")
	switch c.TrainBackend {
	case "local", "kubeflow":
	default:
		return Config{}, fmt.Errorf("config: MEGA_TRAIN_BACKEND=%q: want local or kubeflow", c.TrainBackend)
	}
	return c, nil
}

// Training configures the training chain (train, distill, quantize, deploy).
// Each field is read from the variable named in its comment.
type Training struct {
	TeacherHidden []int   // MEGA_TEACHER_HIDDEN, comma-separated [256,128]
	StudentHidden []int   // MEGA_STUDENT_HIDDEN [128,64]
	Epochs        int     // MEGA_EPOCHS, most epochs per training [200]
	Seed          uint64  // MEGA_SEED [1]
	Temperature   float64 // MEGA_DISTILL_TEMPERATURE [4]
	Alpha         float64 // MEGA_DISTILL_ALPHA [0.7]
	Sparsity      float64 // MEGA_SPARSITY, pruning target [0.5]
	GateBound     float64 // MEGA_GATE_BOUND, largest accepted metric drop int8 vs float student [0.01 = 1 point]
	// The quality gate (package benchmark): accuracy bounds are in points,
	// RMSE bounds relative.
	GateBaselineMargin float64 // MEGA_GATE_BASELINE_MARGIN, how much the int8 model must beat the majority-class (or mean) baseline by [0.02]
	GateTeacherBound   float64 // MEGA_GATE_TEACHER_BOUND, largest accepted drop float student vs teacher [0.05]
	GateChampionBound  float64 // MEGA_GATE_CHAMPION_BOUND, largest accepted drop vs the serving version on its test set [0]
	ModelIO            string  // MEGA_MODEL_IO, float or int8 model inputs and outputs [float]
}

// TrainingFromEnv reads the training configuration.
func TrainingFromEnv() (Training, error) { return trainingFromLookup(os.LookupEnv) }

// TrainingFromLookup reads the training configuration from lookup.
func TrainingFromLookup(lookup func(string) (string, bool)) (Training, error) {
	return trainingFromLookup(lookup)
}

func trainingFromLookup(lookup func(string) (string, bool)) (Training, error) {
	t := Training{TeacherHidden: []int{256, 128}, StudentHidden: []int{128, 64}, Epochs: 200, Seed: 1,
		Temperature: 4, Alpha: 0.7, Sparsity: 0.5, GateBound: 0.01, ModelIO: "float",
		GateBaselineMargin: 0.02, GateTeacherBound: 0.05}
	var errs []error
	ints := func(k string, dst *[]int) {
		v, ok := lookup(k)
		if !ok || strings.TrimSpace(v) == "" {
			return
		}
		var out []int
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 || n > 4096 {
				errs = append(errs, fmt.Errorf("%s=%q: want comma-separated layer sizes in 1..4096", k, v))
				return
			}
			out = append(out, n)
		}
		*dst = out
	}
	num := func(k string, dst *float64, lo, hi float64) {
		v, ok := lookup(k)
		if !ok || strings.TrimSpace(v) == "" {
			return
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < lo || f > hi {
			errs = append(errs, fmt.Errorf("%s=%q: want a number in [%v, %v]", k, v, lo, hi))
			return
		}
		*dst = f
	}
	ints("MEGA_TEACHER_HIDDEN", &t.TeacherHidden)
	ints("MEGA_STUDENT_HIDDEN", &t.StudentHidden)
	epochs := float64(t.Epochs)
	num("MEGA_EPOCHS", &epochs, 1, 100000)
	t.Epochs = int(epochs)
	seed := float64(t.Seed)
	num("MEGA_SEED", &seed, 0, 1<<53)
	t.Seed = uint64(seed)
	num("MEGA_DISTILL_TEMPERATURE", &t.Temperature, 0.01, 1000)
	num("MEGA_DISTILL_ALPHA", &t.Alpha, 0.000001, 1)
	num("MEGA_SPARSITY", &t.Sparsity, 0, 0.99)
	num("MEGA_GATE_BOUND", &t.GateBound, 0, 1)
	num("MEGA_GATE_BASELINE_MARGIN", &t.GateBaselineMargin, 0, 1)
	num("MEGA_GATE_TEACHER_BOUND", &t.GateTeacherBound, 0, 1)
	num("MEGA_GATE_CHAMPION_BOUND", &t.GateChampionBound, 0, 1)
	if v, ok := lookup("MEGA_MODEL_IO"); ok && v != "" {
		if v != "float" && v != "int8" {
			errs = append(errs, fmt.Errorf("MEGA_MODEL_IO=%q: want float or int8", v))
		}
		t.ModelIO = v
	}
	if err := errors.Join(errs...); err != nil {
		return Training{}, fmt.Errorf("config: %w", err)
	}
	return t, nil
}
