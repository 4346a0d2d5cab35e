// Package step is the skeleton every function of the chain shares: decode the
// CloudEvent, find the run, check the idempotency ledger, do the work, record
// the outcome in the run record, publish the next messages, mark the event
// done.
//
// Retry policy, the same for every function:
//   - a malformed event (not a storage object, not a pipeline message) is
//     logged and dropped with nil: no retry can fix it;
//   - a permanent failure (Permanent(err): bad input, a model the gate
//     refuses) marks the step and the run failed with a readable reason, marks
//     the event done, and returns nil, so the platform does not retry it;
//   - any other error is transient (Pub/Sub, Storage or Firestore unreachable):
//     the claim is released and the error returned, so the platform retries
//     the delivery (Eventarc with backoff in the cloud, the router locally);
//   - a replay of completed work returns nil at once; a delivery that finds
//     the same work in progress elsewhere returns ledger.ErrBusy (retried).
package step

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/logging"
	"github.com/megapipe/mega/shared/runs"
)

// PermanentError marks a failure that retrying cannot fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as permanent. It returns nil for nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Permanentf formats a permanent error.
func Permanentf(format string, args ...any) error { return Permanent(fmt.Errorf(format, args...)) }

// IsPermanent reports whether err is marked permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// ErrSkip, returned by RunOf, marks an event the function is not meant to act
// on (such as a calibration file landing beside a model): it is ignored.
var ErrSkip = errors.New("not for this function")

// Run identifies the run an input belongs to.
type Run struct {
	ID      string
	Dataset string
	Source  string // the dropped object, gs://bucket/name#generation
}

// Publication is one message to publish when the work succeeds.
type Publication struct {
	Topic   string
	Message events.Message
	Attrs   map[string]string
}

// Result is what the work produced.
type Result struct {
	Outcome runs.Outcome // Status defaults to succeeded
	Publish []Publication
}

// Work does one step's job for one input.
type Work func(ctx context.Context, env *Env, run Run, in events.Input) (Result, error)

// Step is a chain function.
type Step struct {
	Name     string // step name in run records: "ingest"
	Function string // entry point: config.FuncIngest
	// RunOf finds the run of an input. The default takes run_id and dataset
	// from the pipeline message, and fails permanently for storage events.
	RunOf func(in events.Input) (Run, error)
	Work  Work
	// Env returns the clients; the default is Default.
	Env func(ctx context.Context) (*Env, error)
	// KeyOf returns the idempotency key of an input; the default,
	// in.Key(Function), is content-based. Inputs whose content repeats on
	// purpose (every drift-tick carries the same payload) key on the event
	// id instead, which a redelivery keeps.
	KeyOf func(in events.Input) string
}

func runOfMessage(in events.Input) (Run, error) {
	if in.Message == nil || in.Message.RunID == "" {
		return Run{}, errors.New("event carries no run id")
	}
	return Run{ID: in.Message.RunID, Dataset: in.Message.Dataset}, nil
}

// Handle is the CloudEvent function.
func (s *Step) Handle(ctx context.Context, e event.Event) error {
	ctx = logging.With(ctx, "step", s.Name, "event_id", e.ID())
	in, err := events.Parse(e)
	if err != nil {
		slog.ErrorContext(ctx, "dropping malformed event", "error", err, "type", e.Type(), "source", e.Source())
		return nil
	}
	runOf := s.RunOf
	if runOf == nil {
		runOf = runOfMessage
	}
	run, err := runOf(in)
	if errors.Is(err, ErrSkip) {
		slog.InfoContext(ctx, "event is not for this function; ignoring it", "reason", err)
		return nil
	}
	if err != nil {
		slog.ErrorContext(ctx, "dropping event that names no run", "error", err)
		return nil
	}
	ctx = logging.With(ctx, "run_id", run.ID, "dataset", run.Dataset)
	getEnv := s.Env
	if getEnv == nil {
		getEnv = Default
	}
	env, err := getEnv(ctx)
	if err != nil {
		return fmt.Errorf("%s: clients: %w", s.Name, err)
	}
	key := in.Key(s.Function)
	if s.KeyOf != nil {
		key = s.KeyOf(in)
	}
	done, err := env.Ledger.Claim(ctx, key, in.EventID)
	if err != nil {
		slog.WarnContext(ctx, "cannot claim event; it will be retried", "error", err)
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	if done {
		slog.InfoContext(ctx, "event already handled; nothing to do", "key", key)
		return nil
	}
	if err := env.Runs.StartStep(ctx, run.ID, run.Dataset, run.Source, s.Name, in.EventID); err != nil {
		s.release(ctx, env, key, in.EventID)
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	slog.InfoContext(ctx, "step started")
	res, err := s.Work(ctx, env, run, in)
	if err != nil {
		if IsPermanent(err) {
			return s.fail(ctx, env, run, key, in.EventID, err)
		}
		slog.WarnContext(ctx, "step failed; the event will be retried", "error", err)
		s.release(ctx, env, key, in.EventID)
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	for _, p := range res.Publish {
		id, err := env.Topics.PublishJSON(ctx, p.Topic, p.Message, p.Attrs)
		if err != nil {
			slog.WarnContext(ctx, "publish failed; the event will be retried", "topic", p.Topic, "error", err)
			s.release(ctx, env, key, in.EventID)
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		slog.InfoContext(ctx, "published", "topic", p.Topic, "message_id", id)
	}
	o := res.Outcome
	if o.Status == "" {
		o.Status = runs.StatusSucceeded
	}
	if err := env.Runs.FinishStep(ctx, run.ID, s.Name, o); err != nil {
		s.release(ctx, env, key, in.EventID)
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	if err := env.Ledger.Complete(ctx, key, in.EventID, o.Status); err != nil {
		// The work and its messages are done and named deterministically; a
		// retry redoes it and downstream drops the duplicate message.
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	slog.InfoContext(ctx, "step finished", "status", o.Status, "reason", o.Reason)
	return nil
}

func (s *Step) fail(ctx context.Context, env *Env, run Run, key, eventID string, cause error) error {
	reason := cause.Error()
	slog.ErrorContext(ctx, "step failed permanently; not retrying", "reason", reason)
	if err := env.Runs.FinishStep(ctx, run.ID, s.Name, runs.Outcome{Status: runs.StatusFailed, Reason: reason}); err != nil {
		s.release(ctx, env, key, eventID)
		return fmt.Errorf("%s: record failure: %w", s.Name, err)
	}
	if err := env.Ledger.Complete(ctx, key, eventID, "failed: "+reason); err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	return nil
}

func (s *Step) release(ctx context.Context, env *Env, key, eventID string) {
	if err := env.Ledger.Release(context.WithoutCancel(ctx), key, eventID); err != nil {
		slog.WarnContext(ctx, "cannot release claim; the retry waits for the lease", "error", err)
	}
}

// RunBatch runs the step once outside the event path, as a batch job
// (`mega step`, the Kubeflow components): it records the step in the run
// record like Handle, runs the same Work on the same artifacts, and publishes
// the step's messages only when publish is set (inside a pipeline the next
// component, not the next function, continues the work).
func (s *Step) RunBatch(ctx context.Context, env *Env, run Run, in events.Input, publish bool) (Result, error) {
	ctx = logging.With(ctx, "step", s.Name, "run_id", run.ID, "mode", "batch")
	if err := env.Runs.StartStep(ctx, run.ID, run.Dataset, run.Source, s.Name, in.EventID); err != nil {
		return Result{}, err
	}
	res, err := s.Work(ctx, env, run, in)
	if err != nil {
		o := runs.Outcome{Status: runs.StatusFailed, Reason: err.Error()}
		if ferr := env.Runs.FinishStep(context.WithoutCancel(ctx), run.ID, s.Name, o); ferr != nil {
			slog.WarnContext(ctx, "cannot record the failure", "error", ferr)
		}
		return Result{}, fmt.Errorf("%s: %w", s.Name, err)
	}
	if publish {
		for _, p := range res.Publish {
			if _, err := env.Topics.PublishJSON(ctx, p.Topic, p.Message, p.Attrs); err != nil {
				return Result{}, fmt.Errorf("%s: %w", s.Name, err)
			}
		}
	}
	o := res.Outcome
	if o.Status == "" {
		o.Status = runs.StatusSucceeded
	}
	if err := env.Runs.FinishStep(ctx, run.ID, s.Name, o); err != nil {
		return Result{}, fmt.Errorf("%s: %w", s.Name, err)
	}
	return res, nil
}
