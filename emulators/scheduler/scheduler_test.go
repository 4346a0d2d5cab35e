package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/emulators/scheduler"
	"github.com/megapipe/mega/shared/config"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

func TestTickNow(t *testing.T) {
	env := emulatortest.Start(t)
	sub := env.CreateSubscription("tick-watch", config.TopicDriftTick)
	s, err := scheduler.New(env.PubSub(), scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	id, err := s.TickNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := env.Pull(sub, 1, 20*time.Second)[0]
	// The payload of terraform/scheduler.tf: jsonencode({ step = "driftcheck" }).
	if string(m.Data) != `{"step":"driftcheck"}` || len(m.Attributes) != 0 || m.ID != id {
		t.Errorf("tick = id %s data %q attrs %v, want id %s and the Terraform job's payload", m.ID, m.Data, m.Attributes, id)
	}
}

// runningClock returns a clock that reads at at the call and then runs with
// the machine's monotonic clock, whatever today's date is.
func runningClock(at time.Time) func() time.Time {
	start := time.Now()
	return func() time.Time { return at.Add(time.Since(start)) }
}

// TestRunFires: Run publishes when its clock reaches a scheduled time. The
// clock starts 300 ms before 05:00:00, so the tick is due 300 ms later, and
// the next one at 05:05.
func TestRunFires(t *testing.T) {
	env := emulatortest.Start(t)
	sub := env.CreateSubscription("run-watch", config.TopicDriftTick)
	due := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	s, err := scheduler.New(env.PubSub(), scheduler.Options{Attributes: map[string]string{"origin": "test"},
		Now: runningClock(due.Add(-300 * time.Millisecond))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		s.Stop()
	}()
	m := env.Pull(sub, 1, 20*time.Second)[0]
	if m.Attributes["origin"] != "test" || string(m.Data) != scheduler.DefaultData {
		t.Errorf("tick = %q %v", m.Data, m.Attributes)
	}
	// Run records the tick, then schedules the next one.
	for deadline := time.Now().Add(20 * time.Second); !s.Next().After(due); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Next = %v 20 s after the tick, want 05:05", s.Next())
		}
	}
	if last := s.Last(); last.Before(due) || !last.Before(due.Add(5*time.Minute)) {
		t.Errorf("tick published at %v on the scheduler's clock, want in [%v, +5m)", last, due)
	}
	if got, want := s.Next(), due.Add(5*time.Minute); !got.Equal(want) {
		t.Errorf("Next = %v, want %v", got, want)
	}
}

func TestNewBadSchedule(t *testing.T) {
	env := emulatortest.Start(t)
	if _, err := scheduler.New(env.PubSub(), scheduler.Options{Schedule: "every 5 minutes"}); err == nil {
		t.Error("New accepted a bad schedule")
	}
}
