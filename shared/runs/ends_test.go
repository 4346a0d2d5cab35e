package runs_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/runs"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

// TestRunsEnd replays issue 17's "a run whose event gives up stays running
// forever": distill gave up after 5 attempts and the run stayed running.
// A dead letter now fails the step and run with the reason and how to
// resume; a step past its timeout (the dead-letter publish failed too) is
// failed by the watchdog with how long it ran.
func TestRunsEnd(t *testing.T) {
	env := emulatortest.Start(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	now := t0
	s := runs.New(env.Firestore()).WithClock(func() time.Time { return now })
	for _, id := range []string{"run-dl", "run-stall", "run-fresh"} {
		if err := s.StartStep(ctx, id, "wine", "gs://raw/wine/a.csv#1", "ingest", "e-"+id); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishStep(ctx, id, "ingest", runs.Outcome{Status: runs.StatusSucceeded}); err != nil {
			t.Fatal(err)
		}
		if err := s.StartStep(ctx, id, "wine", "", "distill", "d-"+id); err != nil {
			t.Fatal(err)
		}
	}

	// The dead-letter consumer: a pipeline message for distill.
	data, _ := json.Marshal(map[string]any{"run_id": "run-dl", "step": "train"})
	d, err := runs.ParseDeadLetter(map[string]string{"deadLetterFunction": config.FuncDistill, "deadLetterAttempts": "5",
		"deadLetterError": "HTTP 500: pubsub unavailable"}, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FailDeadLettered(ctx, d); err != nil {
		t.Fatal(err)
	}
	r, _ := s.Get(ctx, "run-dl")
	want := "gave up after 5 attempts: HTTP 500: pubsub unavailable; resume with `mega trigger distill --run run-dl`"
	if r.Status != runs.StatusFailed || r.Steps["distill"].Status != runs.StatusFailed || r.Steps["distill"].Reason != want {
		t.Errorf("dead-lettered run: %s, distill %s %q\nwant failed %q", r.Status, r.Steps["distill"].Status, r.Steps["distill"].Reason, want)
	}
	// A dead letter for a step that already ended changes nothing.
	d.Step = "ingest"
	if err := s.FailDeadLettered(ctx, d); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Get(ctx, "run-dl"); r.Steps["ingest"].Status != runs.StatusSucceeded {
		t.Errorf("a late dead letter failed a finished step: %+v", r.Steps["ingest"])
	}
	// A dead letter for an unknown run says so.
	if err := s.FailDeadLettered(ctx, runs.DeadLetter{RunID: "nope", Step: "train"}); !errors.Is(err, runs.ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}

	// The watchdog: run-stall's distill attempt started at t0; run-fresh
	// starts a new attempt later. Within the timeout nothing is failed.
	now = t0.Add(runs.StallAfter("distill") - time.Second)
	if st, err := s.FailStalled(ctx, 0); err != nil || len(st) != 0 {
		t.Fatalf("within the timeout: %v %v", st, err)
	}
	if err := s.StartStep(ctx, "run-fresh", "wine", "", "distill", "d2"); err != nil { // a retry restarts the clock
		t.Fatal(err)
	}
	now = t0.Add(12 * time.Minute)
	st, err := s.FailStalled(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].RunID != "run-stall" || st[0].Step != "distill" || st[0].For != 12*time.Minute {
		t.Fatalf("stalled = %+v, want run-stall/distill for 12m", st)
	}
	r, _ = s.Get(ctx, "run-stall")
	if r.Status != runs.StatusFailed || !strings.HasPrefix(r.Steps["distill"].Reason, "stalled: running for 12m0s, past its 11m0s timeout") ||
		!strings.HasSuffix(r.Reason, "resume with `mega trigger distill --run run-stall`") {
		t.Errorf("stalled run: %s %q / %q", r.Status, r.Steps["distill"].Reason, r.Reason)
	}
	if r, _ := s.Get(ctx, "run-fresh"); r.Status != runs.StatusRunning {
		t.Errorf("a step retried 2 minutes ago was failed: %+v", r)
	}
	// A storage event names its run through the object.
	obj, _ := json.Marshal(map[string]any{"bucket": "raw", "name": "wine/a.csv", "generation": "7"})
	d, err = runs.ParseDeadLetter(map[string]string{"deadLetterFunction": config.FuncIngest}, obj)
	if err != nil || d.RunID != runs.IDForObject("wine", "raw", "wine/a.csv", 7) || d.Step != "ingest" {
		t.Errorf("storage dead letter: %+v %v", d, err)
	}
	if _, err := runs.ParseDeadLetter(map[string]string{"deadLetterFunction": "Collect"}, data); err == nil {
		t.Error("a dead letter of collect (no run) gave no error")
	}
}
