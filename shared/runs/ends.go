package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/shared/config"
)

// Every run ends (issue 17): a dead-lettered event fails its step and run
// (FailDeadLettered, fed by a dead-letter consumer), and since the
// dead-letter publish can fail too, a watchdog (FailStalled) fails a step
// still "running" past its timeout. Both say how to resume.

// stepOfFunction maps function entry points to the step they record.
var stepOfFunction = map[string]string{
	config.FuncIngest: "ingest", config.FuncFeaturize: "featurize", config.FuncTrain: "train",
	config.FuncDistill: "distill", config.FuncQuantize: "quantize", config.FuncDeploy: "deploy",
}

// StepTimeouts are how long one attempt of a step may run before the
// watchdog calls it stalled: the function's timeout in Terraform (540 s,
// deploy 60 s) plus StallGrace for the retry's backoff and start. Each
// attempt restarts the clock (StartStep).
var StepTimeouts = map[string]time.Duration{
	"ingest": 540 * time.Second, "featurize": 540 * time.Second, "train": 540 * time.Second,
	"distill": 540 * time.Second, "quantize": 540 * time.Second, "deploy": 60 * time.Second,
}

// StallGrace is added to a step's timeout before it counts as stalled.
const StallGrace = 2 * time.Minute

// StallAfter is how long an attempt of step may run before it is stalled.
func StallAfter(step string) time.Duration {
	t, ok := StepTimeouts[step]
	if !ok {
		t = 540 * time.Second
	}
	return t + StallGrace
}

// ResumeHint says how to run step of run id again.
func ResumeHint(step, id string) string {
	return fmt.Sprintf("resume with `mega trigger %s --run %s`", step, id)
}

// DeadLetter is what a dead-lettered event says about its run.
type DeadLetter struct {
	RunID    string
	Step     string
	Attempts int
	Error    string
}

// ParseDeadLetter reads a dead-letter message (the original data plus the
// router's or Pub/Sub's deadLetter* attributes): the step from
// deadLetterFunction, the run from a pipeline message's run_id, or from a
// storage object (bucket, name, generation) through IDForObject.
func ParseDeadLetter(attrs map[string]string, data []byte) (DeadLetter, error) {
	d := DeadLetter{Error: attrs["deadLetterError"]}
	d.Attempts, _ = strconv.Atoi(attrs["deadLetterAttempts"])
	fn := attrs["deadLetterFunction"]
	d.Step = stepOfFunction[fn]
	if d.Step == "" {
		return d, fmt.Errorf("dead letter: function %q records no run step", fn)
	}
	var m struct {
		RunID      string          `json:"run_id"`
		Step       string          `json:"step"`
		Bucket     string          `json:"bucket"`
		Name       string          `json:"name"`
		Generation json.RawMessage `json:"generation"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return d, fmt.Errorf("dead letter: data is not JSON: %w", err)
	}
	switch {
	case m.RunID != "":
		d.RunID = m.RunID
	case m.Bucket != "" && m.Name != "":
		g, err := strconv.ParseInt(strings.Trim(string(m.Generation), `"`), 10, 64)
		if err != nil {
			return d, fmt.Errorf("dead letter: object %s/%s: bad generation %s", m.Bucket, m.Name, m.Generation)
		}
		ds, _, _ := strings.Cut(m.Name, "/")
		d.RunID = IDForObject(ds, m.Bucket, m.Name, g)
	default:
		return d, errors.New("dead letter: the message names no run and no object")
	}
	return d, nil
}

// FailDeadLettered marks the step and its run failed with the dead letter's
// reason and how to resume. A step that already ended is left alone (the
// event's work finished by another delivery); an unknown run is ErrNotFound.
func (s *Store) FailDeadLettered(ctx context.Context, d DeadLetter) error {
	reason := fmt.Sprintf("gave up after %d attempts: %s; %s", d.Attempts, d.Error, ResumeHint(d.Step, d.RunID))
	_, err := s.failIf(ctx, d.RunID, d.Step, reason, func(st Step) bool { return st.Status == StatusRunning || st.Status == "" })
	return err
}

// Stalled is a step the watchdog failed.
type Stalled struct {
	RunID, Step string
	For         time.Duration // how long its last attempt had run
}

// FailStalled fails every step still running longer than StallAfter, and
// its run, with a reason saying how long and how to resume. It looks at the
// newest limit runs (0: 200).
func (s *Store) FailStalled(ctx context.Context, limit int) ([]Stalled, error) {
	if limit <= 0 {
		limit = 200
	}
	q := s.c.Collection(config.CollRuns).Where("status", "==", StatusRunning).Limit(limit)
	docs, err := q.Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("runs: list running: %w", err)
	}
	now := s.now()
	var out []Stalled
	for _, d := range docs {
		var r Run
		if err := d.DataTo(&r); err != nil {
			continue
		}
		for name, st := range r.Steps {
			if st.Status != StatusRunning || st.Started.IsZero() {
				continue
			}
			age := now.Sub(st.Started)
			if age <= StallAfter(name) {
				continue
			}
			started := st.Started
			reason := fmt.Sprintf("stalled: running for %s, past its %s timeout, with no end recorded; %s",
				age.Round(time.Second), StallAfter(name), ResumeHint(name, r.ID))
			ok, err := s.failIf(ctx, r.ID, name, reason, func(cur Step) bool {
				return cur.Status == StatusRunning && cur.Started.Equal(started)
			})
			if err != nil {
				return out, err
			}
			if ok {
				out = append(out, Stalled{RunID: r.ID, Step: name, For: age})
			}
		}
	}
	return out, nil
}

// failIf marks step and run failed in a transaction when cond holds for the
// step's current record.
func (s *Store) failIf(ctx context.Context, id, step, reason string, cond func(Step) bool) (bool, error) {
	done := false
	err := s.c.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		done = false
		snap, err := tx.Get(s.doc(id))
		if status.Code(err) == codes.NotFound {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		var r Run
		if err := snap.DataTo(&r); err != nil {
			return err
		}
		if !cond(r.Steps[step]) {
			return nil
		}
		now := s.now()
		done = true
		return tx.Update(s.doc(id), []firestore.Update{
			{FieldPath: firestore.FieldPath{"steps", step, "status"}, Value: StatusFailed},
			{FieldPath: firestore.FieldPath{"steps", step, "ended"}, Value: now},
			{FieldPath: firestore.FieldPath{"steps", step, "reason"}, Value: reason},
			{Path: "status", Value: StatusFailed},
			{Path: "reason", Value: step + ": " + reason},
			{Path: "updated", Value: now},
		})
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return false, err
		}
		return false, fmt.Errorf("runs: fail %s/%s: %w", id, step, err)
	}
	return done, nil
}

// IsStalled reports whether a running step has run past StallAfter at now,
// and for how long.
func IsStalled(step string, st Step, now time.Time) (time.Duration, bool) {
	if st.Status != StatusRunning || st.Started.IsZero() {
		return 0, false
	}
	age := now.Sub(st.Started)
	return age, age > StallAfter(step)
}

// WithClock returns a copy of the store that reads the time from now (for
// tests and the watchdog's callers).
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.now = now
	return &c
}
