package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/functions/deploy"
	"github.com/megapipe/mega/functions/distill"
	"github.com/megapipe/mega/functions/featurize"
	"github.com/megapipe/mega/functions/quantize"
	"github.com/megapipe/mega/functions/train"
	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/dataset"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

// stage is one link of the chain as the router would drive it.
type stage struct {
	s     *step.Step
	in    string // topic the step is triggered by
	out   string // topic it publishes
	label string
}

// TestChainFromCleanRowsToDeployment drives featurize, train, distill,
// quantize and deploy through their CloudEvent handlers with the messages each
// publishes, against the emulators, on the breast cancer data; then replays
// model-trained and checks that no second version appears.
func TestChainFromCleanRowsToDeployment(t *testing.T) {
	emu, env := chainEnv(t, "60")
	ctx := context.Background()
	getEnv := func(context.Context) (*step.Env, error) { return env, nil }

	chain := []stage{
		{featurize.Step, config.TopicDatasetReady, config.TopicFeaturesReady, "featurize"},
		{train.Step, config.TopicFeaturesReady, config.TopicModelTrained, "train"},
		{distill.Step, config.TopicModelTrained, config.TopicModelDistilled, "distill"},
		{quantize.Step, config.TopicModelDistilled, config.TopicModelQuantized, "quantize"},
		{deploy.Step, config.TopicModelQuantized, config.TopicModelDeployed, "deploy"},
	}
	subs := map[string]string{}
	for _, c := range chain {
		old := c.s.Env
		c.s.Env = getEnv
		t.Cleanup(func() { c.s.Env = old })
		subs[c.out] = emu.CreateSubscription("test-"+c.out, c.out)
	}

	runID := "breast-cancer-test"
	msg := ingestLocally(t, ctx, env, runID, filepath.Join("..", "..", "testdata", "datasets", "breast_cancer.csv"))
	var trained events.Message
	for i, c := range chain {
		start := time.Now()
		if err := c.s.Handle(ctx, pubsubEvent(t, emu.Project, c.in, "m-"+c.label, msg)); err != nil {
			t.Fatalf("%s: %v", c.label, err)
		}
		got := emu.Pull(subs[c.out], 1, 30*time.Second)
		msg = events.Message{}
		if err := json.Unmarshal(got[0].Data, &msg); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d %s: %v", i, c.label, time.Since(start).Round(time.Millisecond))
		if c.label == "train" {
			trained = msg
		}
	}

	r, err := env.Runs.Get(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != runs.StatusDeployed {
		t.Fatalf("run status %s (%s), want deployed", r.Status, r.Reason)
	}
	reg := registry.New(env.Docs)
	s, err := reg.Serving(ctx, "breast-cancer")
	if err != nil {
		t.Fatal(err)
	}
	v, err := reg.Get(ctx, "breast-cancer", s.Version)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"teacher", "student", "int8", "benchmark", "features"} {
		if v.Artifacts[a].SHA256 == "" {
			t.Errorf("version lacks artifact %s", a)
		}
	}
	// The breast cancer data is nearly separable: published baselines for an
	// MLP reach about 0.95-0.98 accuracy. 0.9 catches a broken chain.
	for _, k := range []string{"teacher_accuracy", "student_accuracy", "int8_accuracy"} {
		if v.Metrics[k] < 0.9 {
			t.Errorf("%s = %.3f, want >= 0.9", k, v.Metrics[k])
		}
	}
	t.Logf("metrics: %v", v.Metrics)

	// A replay of model-trained (a new delivery, and a duplicate publish with
	// a new message id) has no second effect.
	for _, id := range []string{"m-train", "m-train-dup"} {
		if err := distill.Step.Handle(ctx, pubsubEvent(t, emu.Project, config.TopicModelTrained, id, trained)); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := reg.Versions(ctx, "breast-cancer")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 {
		t.Errorf("%d versions after replaying model-trained, want 1", len(vs))
	}
	r, _ = env.Runs.Get(ctx, runID)
	if a := r.Steps["distill"].Attempts; a != 1 {
		t.Errorf("distill ran %d times, want 1", a)
	}
}

// chainEnv gives a test the emulators, an artifacts bucket, small networks
// trained for at most epochs, and the step clients.
func chainEnv(t *testing.T, epochs string) (*emulatortest.Env, *step.Env) {
	t.Helper()
	if testing.Short() {
		t.Skip("trains three networks")
	}
	emu := emulatortest.Start(t)
	g := emu.GCS("artifacts")
	t.Setenv("STORAGE_EMULATOR_HOST", g.URL())
	t.Setenv("MEGA_EPOCHS", epochs)
	t.Setenv("MEGA_TEACHER_HIDDEN", "32,16")
	t.Setenv("MEGA_STUDENT_HIDDEN", "16")
	cfg := config.Config{Project: emu.Project, ArtifactsBucket: emu.Bucket("artifacts"), TrainBackend: "local"}
	env, err := step.NewEnv(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return emu, env
}

// ingestLocally writes the clean rows and schema as ingest would and returns
// the dataset-ready message.
func ingestLocally(t *testing.T, ctx context.Context, env *step.Env, runID, path string) events.Message {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var clean, quarantine bytes.Buffer
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	res, err := dataset.Ingest(open, dataset.IngestOptions{Name: "breast_cancer.csv", Infer: dataset.InferOptions{Label: "label"}}, &clean, &quarantine)
	if err != nil {
		t.Fatal(err)
	}
	res.Schema.Dataset = "breast-cancer"
	js, _ := res.Schema.MarshalIndent()
	art := env.Config.ArtifactsBucket
	for name, b := range map[string][]byte{"clean.mgds": clean.Bytes(), "schema.json": js} {
		if _, err := env.Blob.Put(ctx, art, runs.ArtifactName(runID, "ingest", name), b, blob.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return events.Message{RunID: runID, Dataset: "breast-cancer", Step: "ingest", Artifacts: map[string]string{
		"clean":  events.ObjectURI(art, runs.ArtifactName(runID, "ingest", "clean.mgds")),
		"schema": events.ObjectURI(art, runs.ArtifactName(runID, "ingest", "schema.json")),
	}}
}

func pubsubEvent(t *testing.T, project, topic, id string, m events.Message) event.Event {
	t.Helper()
	b, _ := json.Marshal(m)
	e, err := events.NewMessageEvent(project, topic, "", events.PubsubMessage{Data: b, MessageID: id, PublishTime: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestBatchStepsLikeKubeflow runs featurize, train, distill and quantize as
// the Kubeflow components do (step.RunBatch, each reading the previous
// step's outputs), publishing only at the last step; the run then continues
// at deploy exactly as with the local backend.
func TestBatchStepsLikeKubeflow(t *testing.T) {
	emu, env := chainEnv(t, "40")
	ctx := context.Background()
	subs := map[string]string{}
	for _, tp := range []string{config.TopicFeaturesReady, config.TopicModelTrained, config.TopicModelDistilled, config.TopicModelQuantized} {
		subs[tp] = emu.CreateSubscription("batch-"+tp, tp)
	}
	runID := "batch-run"
	msg := ingestLocally(t, ctx, env, runID, filepath.Join("..", "..", "testdata", "datasets", "breast_cancer.csv"))
	run := step.Run{ID: runID, Dataset: "breast-cancer"}
	for _, s := range []*step.Step{featurize.Step, train.Step, distill.Step, quantize.Step} {
		last := s == quantize.Step
		res, err := s.RunBatch(ctx, env, run, events.Input{EventID: "batch-" + s.Name, Message: &msg}, last)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if len(res.Publish) != 1 {
			t.Fatalf("%s: %d publications, want 1", s.Name, len(res.Publish))
		}
		msg = res.Publish[0].Message
	}
	// Only quantize published: model-quantized, for deploy.
	got := emu.Pull(subs[config.TopicModelQuantized], 1, 20*time.Second)
	var q events.Message
	if err := json.Unmarshal(got[0].Data, &q); err != nil {
		t.Fatal(err)
	}
	if q.Model != "breast-cancer" || q.Artifacts["int8"] == "" {
		t.Errorf("model-quantized = %+v", q)
	}
	for _, tp := range []string{config.TopicFeaturesReady, config.TopicModelTrained, config.TopicModelDistilled} {
		if n := pullCount(t, emu, subs[tp], 2*time.Second); n != 0 {
			t.Errorf("%s: %d messages published by a batch step inside the pipeline, want 0", tp, n)
		}
	}
	r, err := env.Runs.Get(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"featurize", "train", "distill", "quantize"} {
		if r.Steps[name].Status != runs.StatusSucceeded {
			t.Errorf("step %s: %s %s", name, r.Steps[name].Status, r.Steps[name].Reason)
		}
	}
}

func pullCount(t *testing.T, emu *emulatortest.Env, sub string, d time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	n := 0
	var mu sync.Mutex
	_ = emu.PubSub().Subscriber(sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		n++
		mu.Unlock()
	})
	return n
}
