package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/megapipe/mega/shared/config"
)

// DefaultData is the message data of the drift check job, as
// terraform/scheduler.tf publishes it.
const DefaultData = `{"step":"driftcheck"}`

// Options configure a Scheduler.
type Options struct {
	Topic      string            // topic id [config.TopicDriftTick]
	Schedule   string            // 5-field cron [config.DriftSchedule]
	Location   *time.Location    // [UTC, as the Terraform job's Etc/UTC]
	Data       []byte            // message data [DefaultData]
	Attributes map[string]string // message attributes [none]
	Logger     *slog.Logger
	// Now is the clock the schedule is evaluated on [time.Now]. Run waits
	// the time from Now() to the next scheduled time, so a clock set
	// years ahead or behind (tests) fires on its own schedule.
	Now func() time.Time
}

// Scheduler publishes a message on a cron schedule.
type Scheduler struct {
	pub   *pubsub.Publisher
	sched *Schedule
	opts  Options
	log   *slog.Logger
	now   func() time.Time // Options.Now

	mu   sync.Mutex
	next time.Time
	last time.Time
}

// New parses the schedule. The client's project is the topic's project.
func New(ps *pubsub.Client, opts Options) (*Scheduler, error) {
	if ps == nil {
		return nil, errors.New("scheduler: nil pubsub client")
	}
	if opts.Topic == "" {
		opts.Topic = config.TopicDriftTick
	}
	if opts.Schedule == "" {
		opts.Schedule = config.DriftSchedule
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Data == nil {
		opts.Data = []byte(DefaultData)
	}
	if len(opts.Data) == 0 && len(opts.Attributes) == 0 {
		return nil, errors.New("scheduler: a Pub/Sub message needs data or an attribute")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s, err := Parse(opts.Schedule)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return &Scheduler{pub: ps.Publisher(opts.Topic), sched: s, opts: opts, log: opts.Logger, now: opts.Now}, nil
}

// TickNow publishes the job's message at once and returns its message id.
func (s *Scheduler) TickNow(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	attrs := make(map[string]string, len(s.opts.Attributes))
	for k, v := range s.opts.Attributes {
		attrs[k] = v
	}
	id, err := s.pub.Publish(ctx, &pubsub.Message{Data: s.opts.Data, Attributes: attrs}).Get(ctx)
	if err != nil {
		return "", fmt.Errorf("scheduler tick on %s: %w", s.opts.Topic, err)
	}
	s.mu.Lock()
	s.last = s.now()
	s.mu.Unlock()
	s.log.InfoContext(ctx, "scheduler tick", "topic", s.opts.Topic, "message_id", id)
	return id, nil
}

// Next is the next scheduled tick, once Run is running.
func (s *Scheduler) Next() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// Last is the time, on the scheduler's clock, of the last tick published
// (zero before the first).
func (s *Scheduler) Last() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Run publishes at every scheduled time until ctx ends; a failed publish is
// logged and the next time is awaited, as Cloud Scheduler's retry_count = 1
// gives up quickly too. It returns nil when ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		now := s.now()
		next := s.sched.Next(now.In(s.opts.Location))
		if next.IsZero() {
			return fmt.Errorf("scheduler: schedule %q never fires", s.opts.Schedule)
		}
		s.mu.Lock()
		s.next = next
		s.mu.Unlock()
		timer := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		if _, err := s.TickNow(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "scheduler tick failed", "topic", s.opts.Topic, "error", err.Error())
		}
	}
}

// Stop flushes the publisher. Call it after Run returns.
func (s *Scheduler) Stop() { s.pub.Stop() }
