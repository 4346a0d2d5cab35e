// Package runs keeps the run records in Firestore: one document per run id in
// the "runs" collection, with the run's status and, per step, its status,
// timing, counts, progress, outputs and the reason of a failure. `mega runs`
// reads them; every step writes them.
//
// Run status: running while steps work; failed when a step failed
// permanently (the reason names the step and the cause); rejected when the
// quantization gate refused the model; deployed when the model serves.
package runs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/docstore"
)

// Statuses of runs and steps.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusRejected  = "rejected"
	StatusDeployed  = "deployed"
)

// StepOrder is the order of the chain's steps, for display.
var StepOrder = []string{"ingest", "featurize", "train", "distill", "quantize", "deploy"}

// Step is one step's record inside a run.
type Step struct {
	Status   string            `firestore:"status" json:"status"`
	Started  time.Time         `firestore:"started" json:"started"`
	Ended    time.Time         `firestore:"ended,omitempty" json:"ended,omitzero"`
	Reason   string            `firestore:"reason,omitempty" json:"reason,omitempty"`
	Progress float64           `firestore:"progress" json:"progress"`
	Counts   map[string]int64  `firestore:"counts,omitempty" json:"counts,omitempty"`
	Outputs  map[string]string `firestore:"outputs,omitempty" json:"outputs,omitempty"`
	Attempts int64             `firestore:"attempts" json:"attempts"`
	EventID  string            `firestore:"event_id,omitempty" json:"event_id,omitempty"`
}

// Duration is how long the step took (or has taken so far).
func (s Step) Duration(now time.Time) time.Duration {
	if s.Started.IsZero() {
		return 0
	}
	if s.Ended.IsZero() {
		return now.Sub(s.Started)
	}
	return s.Ended.Sub(s.Started)
}

// Run is one run's record.
type Run struct {
	ID      string          `firestore:"id" json:"id"`
	Dataset string          `firestore:"dataset" json:"dataset"`
	Source  string          `firestore:"source,omitempty" json:"source,omitempty"`
	Status  string          `firestore:"status" json:"status"`
	Reason  string          `firestore:"reason,omitempty" json:"reason,omitempty"`
	Created time.Time       `firestore:"created" json:"created"`
	Updated time.Time       `firestore:"updated" json:"updated"`
	Steps   map[string]Step `firestore:"steps" json:"steps"`
	Model   string          `firestore:"model,omitempty" json:"model,omitempty"`
	Version string          `firestore:"version,omitempty" json:"version,omitempty"`
}

// StepNames returns the run's steps in chain order.
func (r Run) StepNames() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range StepOrder {
		if _, ok := r.Steps[s]; ok {
			out = append(out, s)
			seen[s] = true
		}
	}
	var rest []string
	for s := range r.Steps {
		if !seen[s] {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// ErrNotFound is returned for an unknown run id.
var ErrNotFound = errors.New("runs: no such run")

// Store reads and writes run records.
type Store struct {
	c   *firestore.Client
	now func() time.Time
}

// New returns a Store over a Firestore client.
func New(c *firestore.Client) *Store { return &Store{c: c, now: time.Now} }

func (s *Store) doc(id string) *firestore.DocumentRef { return s.c.Collection(config.CollRuns).Doc(id) }

// StartStep records that step began working on run id (creating the run record
// if needed) and counts the attempt.
func (s *Store) StartStep(ctx context.Context, id, dataset, source, step, eventID string) error {
	now := s.now()
	return s.c.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		ref := s.doc(id)
		snap, err := tx.Get(ref)
		var r Run
		switch {
		case status.Code(err) == codes.NotFound:
			r = Run{ID: id, Dataset: dataset, Source: source, Status: StatusRunning, Created: now, Steps: map[string]Step{}}
		case err != nil:
			return fmt.Errorf("runs: read %s: %w", id, err)
		default:
			if err := snap.DataTo(&r); err != nil {
				return fmt.Errorf("runs: decode %s: %w", id, err)
			}
			if r.Steps == nil {
				r.Steps = map[string]Step{}
			}
		}
		st := r.Steps[step]
		st.Status, st.Started, st.Ended, st.Reason, st.EventID = StatusRunning, now, time.Time{}, "", eventID
		st.Attempts++
		r.Steps[step] = st
		if r.Status != StatusRunning && (r.Status == StatusFailed || r.Status == StatusSucceeded) {
			r.Status, r.Reason = StatusRunning, ""
		}
		if source != "" && r.Source == "" {
			r.Source = source
		}
		r.Updated = now
		return tx.Set(ref, r)
	})
}

// Progress records a step's progress in [0,1] and its counts so far.
func (s *Store) Progress(ctx context.Context, id, step string, frac float64, counts map[string]int64) error {
	up := []firestore.Update{
		{FieldPath: firestore.FieldPath{"steps", step, "progress"}, Value: frac},
		{Path: "updated", Value: s.now()},
	}
	if counts != nil {
		up = append(up, firestore.Update{FieldPath: firestore.FieldPath{"steps", step, "counts"}, Value: counts})
	}
	if _, err := s.doc(id).Update(ctx, up); err != nil {
		return fmt.Errorf("runs: progress %s/%s: %w", id, step, err)
	}
	return nil
}

// Outcome is how a step ended.
type Outcome struct {
	Status  string // StatusSucceeded, StatusFailed, StatusRejected, StatusDeployed
	Reason  string
	Counts  map[string]int64
	Outputs map[string]string
	// RunStatus, when set, becomes the run's status (e.g. deployed at the end
	// of the chain). A failed or rejected step always sets it.
	RunStatus string
	Model     string
	Version   string
}

// FinishStep records how a step ended.
func (s *Store) FinishStep(ctx context.Context, id, step string, o Outcome) error {
	now := s.now()
	prefix := firestore.FieldPath{"steps", step}
	at := func(f string) firestore.FieldPath { return append(append(firestore.FieldPath{}, prefix...), f) }
	up := []firestore.Update{
		{FieldPath: at("status"), Value: o.Status},
		{FieldPath: at("ended"), Value: now},
		{FieldPath: at("reason"), Value: o.Reason},
		{Path: "updated", Value: now},
	}
	if o.Status == StatusSucceeded || o.Status == StatusDeployed {
		up = append(up, firestore.Update{FieldPath: at("progress"), Value: 1.0})
	}
	if o.Counts != nil {
		up = append(up, firestore.Update{FieldPath: at("counts"), Value: o.Counts})
	}
	if o.Outputs != nil {
		up = append(up, firestore.Update{FieldPath: at("outputs"), Value: o.Outputs})
	}
	runStatus := o.RunStatus
	if o.Status == StatusFailed || o.Status == StatusRejected {
		runStatus = o.Status
		up = append(up, firestore.Update{Path: "reason", Value: step + ": " + o.Reason})
	}
	if runStatus != "" {
		up = append(up, firestore.Update{Path: "status", Value: runStatus})
	}
	if o.Model != "" {
		up = append(up, firestore.Update{Path: "model", Value: o.Model})
	}
	if o.Version != "" {
		up = append(up, firestore.Update{Path: "version", Value: o.Version})
	}
	if _, err := s.doc(id).Update(ctx, up); err != nil {
		return fmt.Errorf("runs: finish %s/%s: %w", id, step, err)
	}
	return nil
}

// Get returns one run.
func (s *Store) Get(ctx context.Context, id string) (Run, error) {
	snap, err := s.doc(id).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Run{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Run{}, fmt.Errorf("runs: get %s: %w", id, err)
	}
	var r Run
	if err := snap.DataTo(&r); err != nil {
		return Run{}, fmt.Errorf("runs: decode %s: %w", id, err)
	}
	return r, nil
}

// List returns the most recent runs, newest first.
func (s *Store) List(ctx context.Context, limit int) ([]Run, error) {
	q := s.c.Collection(config.CollRuns).OrderBy("created", firestore.Desc)
	if limit > 0 {
		q = q.Limit(limit)
	}
	out, err := docstore.All[Run](ctx, q)
	if err != nil {
		return nil, fmt.Errorf("runs: list: %w", err)
	}
	return out, nil
}
