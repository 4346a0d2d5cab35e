package step_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

func newEnv(t *testing.T) (*emulatortest.Env, *step.Env) {
	t.Helper()
	e := emulatortest.Start(t)
	g := e.GCS("artifacts")
	t.Setenv("STORAGE_EMULATOR_HOST", g.URL())
	cfg := config.Config{Project: e.Project, ArtifactsBucket: e.Bucket("artifacts")}
	env, err := step.NewEnv(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	if err := env.Topics.Ensure(context.Background(), config.TopicFeaturesReady); err != nil {
		t.Fatal(err)
	}
	return e, env
}

func messageEvent(t *testing.T, project, id string, m events.Message) event.Event {
	t.Helper()
	b, _ := json.Marshal(m)
	e, err := events.NewMessageEvent(project, config.TopicDatasetReady, "", events.PubsubMessage{Data: b, MessageID: id, PublishTime: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestReplayHasNoSecondEffect(t *testing.T) {
	emu, env := newEnv(t)
	sub := emu.CreateSubscription("out", config.TopicFeaturesReady)
	var calls atomic.Int32
	s := &step.Step{Name: "featurize", Function: config.FuncFeaturize,
		Env: func(context.Context) (*step.Env, error) { return env, nil },
		Work: func(ctx context.Context, env *step.Env, run step.Run, in events.Input) (step.Result, error) {
			calls.Add(1)
			time.Sleep(100 * time.Millisecond) // hold the claim while duplicates arrive
			return step.Result{Publish: []step.Publication{{Topic: config.TopicFeaturesReady,
				Message: events.Message{RunID: run.ID, Dataset: run.Dataset, Step: "featurize"}}}}, nil
		}}
	msg := events.Message{RunID: "r-1", Dataset: "d", Step: "ingest"}
	// Five deliveries at once; each redelivery keeps its message id, but a
	// duplicate publish upstream gets a new one: both must be recognized.
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "m-1"
			if i%2 == 1 {
				id = "m-2"
			}
			errs[i] = s.Handle(context.Background(), messageEvent(t, emu.Project, id, msg))
		}()
	}
	wg.Wait()
	// Deliveries that met the claim in progress failed as busy; the platform
	// redelivers them, and now they find the work done.
	for i, err := range errs {
		if err != nil {
			if err := s.Handle(context.Background(), messageEvent(t, emu.Project, "m-1", msg)); err != nil {
				t.Fatalf("redelivery %d after busy: %v", i, err)
			}
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("work ran %d times, want 1", got)
	}
	emu.Pull(sub, 1, 10*time.Second)
	extra := pullFor(t, emu, sub, 2*time.Second)
	if extra != 0 {
		t.Errorf("%d extra downstream messages, want 0", extra)
	}
	r, err := env.Runs.Get(context.Background(), "r-1")
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Steps["featurize"]; st.Status != runs.StatusSucceeded || st.Attempts != 1 {
		t.Errorf("step record = %+v, want succeeded after 1 attempt", st)
	}
}

func pullFor(t *testing.T, emu *emulatortest.Env, sub string, d time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var n atomic.Int32
	_ = emu.PubSub().Subscriber(sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		n.Add(1)
	})
	return int(n.Load())
}

func TestPermanentAndTransientFailures(t *testing.T) {
	emu, env := newEnv(t)
	var calls atomic.Int32
	fail := errors.New("network down")
	s := &step.Step{Name: "train", Function: config.FuncTrain,
		Env: func(context.Context) (*step.Env, error) { return env, nil },
		Work: func(ctx context.Context, env *step.Env, run step.Run, in events.Input) (step.Result, error) {
			switch calls.Add(1) {
			case 1:
				return step.Result{}, fail
			default:
				return step.Result{}, step.Permanentf("label column has one class")
			}
		}}
	ev := messageEvent(t, emu.Project, "m", events.Message{RunID: "r-2", Dataset: "d", Step: "featurize"})
	if err := s.Handle(context.Background(), ev); !errors.Is(err, fail) {
		t.Fatalf("transient failure returned %v, want it wrapped", err)
	}
	if err := s.Handle(context.Background(), ev); err != nil {
		t.Fatalf("permanent failure returned %v, want nil (no retry)", err)
	}
	if err := s.Handle(context.Background(), ev); err != nil || calls.Load() != 2 {
		t.Fatalf("replay after permanent failure: err %v, calls %d; want nil, 2", err, calls.Load())
	}
	r, _ := env.Runs.Get(context.Background(), "r-2")
	if r.Status != runs.StatusFailed || r.Reason != "train: label column has one class" {
		t.Errorf("run = %s %q, want failed with the reason", r.Status, r.Reason)
	}
}

func TestMalformedEventIsDropped(t *testing.T) {
	s := &step.Step{Name: "x", Function: "X", Work: func(context.Context, *step.Env, step.Run, events.Input) (step.Result, error) {
		t.Fatal("work ran for a malformed event")
		return step.Result{}, nil
	}, Env: func(context.Context) (*step.Env, error) { return nil, errors.New("no env needed") }}
	e := event.New()
	e.SetID("1")
	e.SetType("com.example.unknown")
	e.SetSource("//x")
	if err := s.Handle(context.Background(), e); err != nil {
		t.Errorf("malformed event returned %v, want nil", err)
	}
}
