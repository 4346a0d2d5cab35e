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

// TestRunFires: Run publishes when the clock reaches a scheduled time. The
// clock reads 300 ms before 05:00:00, so the tick is due 300 ms later.
func TestRunFires(t *testing.T) {
	env := emulatortest.Start(t)
	sub := env.CreateSubscription("run-watch", config.TopicDriftTick)
	s, err := scheduler.New(env.PubSub(), scheduler.Options{Attributes: map[string]string{"origin": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	fake := time.Date(2026, 11, 27, 4, 59, 59, 700_000_000, time.UTC)
	scheduler.SetClock(s, func() time.Time { return fake })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
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
	if waited := m.PublishTime.Sub(start); waited < 300*time.Millisecond {
		t.Errorf("published %v after Run started, want at least the 300ms to the scheduled minute", waited)
	}
	if got, want := s.Next(), time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next = %v, want %v", got, want)
	}
}

func TestNewBadSchedule(t *testing.T) {
	env := emulatortest.Start(t)
	if _, err := scheduler.New(env.PubSub(), scheduler.Options{Schedule: "every 5 minutes"}); err == nil {
		t.Error("New accepted a bad schedule")
	}
}
