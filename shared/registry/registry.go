// Package registry is the model registry in Firestore: models, their
// versions, metrics, the sha256 of each artifact, gate verdicts, and the
// serving pointer.
//
// Layout: models/{name} holds the model and its serving pointer;
// models/{name}/versions/{version} holds one version. A model is named after
// its dataset. Versions are v1, v2, ... allocated in a transaction and keyed by
// the run that produced them, so a replayed event registers no second version.
// The serving pointer moves in a transaction, and only to a version whose gate
// passed. Serving instances watch models/{name} and swap when it moves.
package registry

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/docstore"
)

// Errors.
var (
	ErrNotFound    = errors.New("registry: not found")
	ErrGateFailed  = errors.New("registry: version did not pass the gate")
	ErrNoArtifact  = errors.New("registry: version has no servable artifact")
	ErrNotServable = errors.New("registry: nothing is serving")
	// ErrImmutable: an artifact of a registered version cannot change.
	ErrImmutable = errors.New("registry: a registered artifact cannot change")
	// ErrOlderVersion: moving serving to an older version than the one
	// serving needs Rollback.
	ErrOlderVersion = errors.New("registry: version is older than the serving one")
)

// MutableArtifacts may be rewritten by a replay: measurements (latency in
// benchmark.json) rather than the version's content.
var MutableArtifacts = map[string]bool{"benchmark": true}

// RollbackNote records who moved serving back to an older version and why.
type RollbackNote struct {
	By   string    `firestore:"by" json:"by"`
	Why  string    `firestore:"why" json:"why"`
	From string    `firestore:"from" json:"from"` // the version serving before
	At   time.Time `firestore:"at" json:"at"`
}

// Artifact is one stored file of a version.
type Artifact struct {
	URI    string `firestore:"uri" json:"uri"`
	SHA256 string `firestore:"sha256" json:"sha256"`
	Size   int64  `firestore:"size" json:"size"`
}

// Gate is the quantization gate's verdict.
type Gate struct {
	Passed bool    `firestore:"passed" json:"passed"`
	Reason string  `firestore:"reason" json:"reason"`
	Metric string  `firestore:"metric" json:"metric"`
	Drop   float64 `firestore:"drop" json:"drop"`
	Bound  float64 `firestore:"bound" json:"bound"`
	// Checks are every test of the gate (quantization, baseline, teacher,
	// champion), as package benchmark's Check.
	Checks []GateCheck `firestore:"checks,omitempty" json:"checks,omitempty"`
}

// GateCheck is one test of the gate.
type GateCheck struct {
	Name      string  `firestore:"name" json:"name"`
	Passed    bool    `firestore:"passed" json:"passed"`
	Skipped   bool    `firestore:"skipped,omitempty" json:"skipped,omitempty"`
	Metric    string  `firestore:"metric" json:"metric"`
	Value     float64 `firestore:"value" json:"value"`
	Reference float64 `firestore:"reference" json:"reference"`
	Bound     float64 `firestore:"bound" json:"bound"`
	Reason    string  `firestore:"reason" json:"reason"`
}

// Version is one version of a model.
type Version struct {
	Model     string              `firestore:"model" json:"model"`
	Version   string              `firestore:"version" json:"version"`
	Number    int64               `firestore:"number" json:"number"`
	RunID     string              `firestore:"run_id" json:"run_id"`
	Dataset   string              `firestore:"dataset" json:"dataset"`
	Task      string              `firestore:"task" json:"task"` // binary, multiclass, regression
	Created   time.Time           `firestore:"created" json:"created"`
	Artifacts map[string]Artifact `firestore:"artifacts" json:"artifacts"` // teacher, student, int8, benchmark, ...
	Metrics   map[string]float64  `firestore:"metrics" json:"metrics"`     // e.g. "teacher.accuracy"
	Gate      *Gate               `firestore:"gate,omitempty" json:"gate,omitempty"`
	Status    string              `firestore:"status" json:"status"` // candidate, serving, rejected, retired
}

// Serving is the serving pointer of a model.
type Serving struct {
	Version string    `firestore:"version" json:"version"`
	URI     string    `firestore:"uri" json:"uri"`
	SHA256  string    `firestore:"sha256" json:"sha256"`
	Moved   time.Time `firestore:"moved" json:"moved"`
	RunID   string    `firestore:"run_id" json:"run_id"`
	// Rollback is set when a person moved serving back (Rollback).
	Rollback *RollbackNote `firestore:"rollback,omitempty" json:"rollback,omitempty"`
}

// Model is a model's document.
type Model struct {
	Name    string    `firestore:"name" json:"name"`
	Next    int64     `firestore:"next" json:"next"` // number of the next version
	Serving *Serving  `firestore:"serving,omitempty" json:"serving,omitempty"`
	Updated time.Time `firestore:"updated" json:"updated"`
}

// ServedArtifact is the artifact name the serving pointer points at.
const ServedArtifact = "int8"

// Registry reads and writes the registry.
type Registry struct {
	c   *firestore.Client
	now func() time.Time
}

// New returns a Registry over a Firestore client.
func New(c *firestore.Client) *Registry { return &Registry{c: c, now: time.Now} }

func (r *Registry) model(name string) *firestore.DocumentRef {
	return r.c.Collection(config.CollModels).Doc(name)
}

func (r *Registry) version(name, v string) *firestore.DocumentRef {
	return r.model(name).Collection("versions").Doc(v)
}

// runIndex maps a run to its version, so registration is idempotent.
func (r *Registry) runIndex(name, runID string) *firestore.DocumentRef {
	return r.model(name).Collection("runs").Doc(runID)
}

// Register records a new version made by runID, or returns the version that
// run already registered (a replay registers nothing new). Fields of v other
// than Model, Version, Number, Created are kept as given.
func (r *Registry) Register(ctx context.Context, v Version) (Version, error) {
	if v.Model == "" || v.RunID == "" {
		return Version{}, errors.New("registry: register: model and run id are required")
	}
	var out Version
	err := r.c.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		idx, err := tx.Get(r.runIndex(v.Model, v.RunID))
		if err == nil {
			ver, _ := idx.DataAt("version")
			s, _ := ver.(string)
			snap, err := tx.Get(r.version(v.Model, s))
			if err != nil {
				return err
			}
			return snap.DataTo(&out)
		}
		if status.Code(err) != codes.NotFound {
			return err
		}
		var m Model
		snap, err := tx.Get(r.model(v.Model))
		switch {
		case status.Code(err) == codes.NotFound:
			m = Model{Name: v.Model, Next: 1}
		case err != nil:
			return err
		default:
			if err := snap.DataTo(&m); err != nil {
				return err
			}
		}
		if m.Next < 1 {
			m.Next = 1
		}
		now := r.now()
		out = v
		out.Number = m.Next
		out.Version = "v" + strconv.FormatInt(m.Next, 10)
		out.Created = now
		if out.Status == "" {
			out.Status = "candidate"
		}
		m.Next++
		m.Updated = now
		if err := tx.Set(r.model(v.Model), m); err != nil {
			return err
		}
		if err := tx.Set(r.runIndex(v.Model, v.RunID), map[string]any{"version": out.Version}); err != nil {
			return err
		}
		return tx.Set(r.version(v.Model, out.Version), out)
	})
	if err != nil {
		return Version{}, fmt.Errorf("registry: register %s for run %s: %w", v.Model, v.RunID, err)
	}
	return out, nil
}

// Update merges fields into a version (artifacts, metrics, gate, status).
// Artifacts are immutable once registered: fields["artifacts"] (a
// map[string]Artifact or map[string]any of Artifact) may add artifacts and
// repeat existing ones with the same sha256, but an artifact registered with
// other bytes is ErrImmutable and nothing is written (MutableArtifacts
// excepted).
func (r *Registry) Update(ctx context.Context, name, version string, fields map[string]any) error {
	ref := r.version(name, version)
	err := r.c.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		if arts := artifactsOf(fields["artifacts"]); len(arts) > 0 {
			snap, err := tx.Get(ref)
			if err != nil && status.Code(err) != codes.NotFound {
				return err
			}
			if err == nil {
				var v Version
				if err := snap.DataTo(&v); err != nil {
					return err
				}
				for k, a := range arts {
					old, ok := v.Artifacts[k]
					if ok && old.SHA256 != "" && old.SHA256 != a.SHA256 && !MutableArtifacts[k] {
						return fmt.Errorf("%w: %s/%s artifact %s is registered with sha256 %s (%s); this write has sha256 %s",
							ErrImmutable, name, version, k, old.SHA256, old.URI, a.SHA256)
					}
				}
			}
		}
		return tx.Set(ref, fields, firestore.MergeAll)
	})
	if err != nil {
		return fmt.Errorf("registry: update %s/%s: %w", name, version, err)
	}
	return nil
}

func artifactsOf(v any) map[string]Artifact {
	out := map[string]Artifact{}
	switch m := v.(type) {
	case map[string]Artifact:
		return m
	case map[string]any:
		for k, x := range m {
			switch a := x.(type) {
			case Artifact:
				out[k] = a
			case *Artifact:
				out[k] = *a
			}
		}
	}
	return out
}

// Get returns one version.
func (r *Registry) Get(ctx context.Context, name, version string) (Version, error) {
	snap, err := r.version(name, version).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Version{}, fmt.Errorf("%w: %s/%s", ErrNotFound, name, version)
	}
	if err != nil {
		return Version{}, fmt.Errorf("registry: get %s/%s: %w", name, version, err)
	}
	var v Version
	if err := snap.DataTo(&v); err != nil {
		return Version{}, fmt.Errorf("registry: decode %s/%s: %w", name, version, err)
	}
	return v, nil
}

// Model returns a model's document.
func (r *Registry) Model(ctx context.Context, name string) (Model, error) {
	snap, err := r.model(name).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Model{}, fmt.Errorf("%w: model %s", ErrNotFound, name)
	}
	if err != nil {
		return Model{}, fmt.Errorf("registry: get model %s: %w", name, err)
	}
	var m Model
	if err := snap.DataTo(&m); err != nil {
		return Model{}, fmt.Errorf("registry: decode model %s: %w", name, err)
	}
	return m, nil
}

// Models lists every model.
func (r *Registry) Models(ctx context.Context) ([]Model, error) {
	it := r.c.Collection(config.CollModels).Documents(ctx)
	defer it.Stop()
	var out []Model
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("registry: list models: %w", err)
		}
		var m Model
		if err := snap.DataTo(&m); err != nil {
			return nil, fmt.Errorf("registry: decode model %s: %w", snap.Ref.ID, err)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Versions lists a model's versions, newest first.
func (r *Registry) Versions(ctx context.Context, name string) ([]Version, error) {
	out, err := docstore.All[Version](ctx, r.model(name).Collection("versions").OrderBy("number", firestore.Desc))
	if err != nil {
		return nil, fmt.Errorf("registry: list versions of %s: %w", name, err)
	}
	return out, nil
}

// Promote moves the serving pointer to version, in a transaction, if its gate
// passed and it has a servable artifact. The version previously serving is
// marked retired. Promoting the version already serving changes nothing.
// A version older (by number) than the one serving is ErrOlderVersion:
// serving never moves backwards by accident (a replay of an old run); a
// person rolls back with Rollback.
func (r *Registry) Promote(ctx context.Context, name, version string) (Serving, error) {
	return r.move(ctx, name, version, nil)
}

// Rollback moves serving to an older (or any) version that passed its
// gate, recording who did it and why in the serving pointer. Both are
// required.
func (r *Registry) Rollback(ctx context.Context, name, version, by, why string) (Serving, error) {
	if strings.TrimSpace(by) == "" || strings.TrimSpace(why) == "" {
		return Serving{}, fmt.Errorf("registry: rollback %s/%s: who and why are required", name, version)
	}
	return r.move(ctx, name, version, &RollbackNote{By: by, Why: why})
}

func (r *Registry) move(ctx context.Context, name, version string, note *RollbackNote) (Serving, error) {
	var out Serving
	err := r.c.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		msnap, err := tx.Get(r.model(name))
		if err != nil {
			return err
		}
		var m Model
		if err := msnap.DataTo(&m); err != nil {
			return err
		}
		vsnap, err := tx.Get(r.version(name, version))
		if err != nil {
			return err
		}
		var v Version
		if err := vsnap.DataTo(&v); err != nil {
			return err
		}
		if v.Gate == nil || !v.Gate.Passed {
			return ErrGateFailed
		}
		a, ok := v.Artifacts[ServedArtifact]
		if !ok || a.URI == "" || a.SHA256 == "" {
			return ErrNoArtifact
		}
		if m.Serving != nil && m.Serving.Version == version {
			out = *m.Serving
			return nil
		}
		if m.Serving != nil && note == nil {
			ssnap, err := tx.Get(r.version(name, m.Serving.Version))
			if err != nil && status.Code(err) != codes.NotFound {
				return err
			}
			if err == nil {
				var cur Version
				if err := ssnap.DataTo(&cur); err != nil {
					return err
				}
				if v.Number < cur.Number {
					return fmt.Errorf("%w: %s is older than serving %s; to roll back: mega models %s --rollback %s --reason WHY",
						ErrOlderVersion, version, cur.Version, name, version)
				}
			}
		}
		now := r.now()
		out = Serving{Version: version, URI: a.URI, SHA256: a.SHA256, Moved: now, RunID: v.RunID}
		if note != nil {
			n := *note
			n.At = now
			if m.Serving != nil {
				n.From = m.Serving.Version
			}
			out.Rollback = &n
		}
		if m.Serving != nil {
			if err := tx.Update(r.version(name, m.Serving.Version), []firestore.Update{{Path: "status", Value: "retired"}}); err != nil {
				return err
			}
		}
		if err := tx.Update(r.version(name, version), []firestore.Update{{Path: "status", Value: "serving"}}); err != nil {
			return err
		}
		return tx.Update(r.model(name), []firestore.Update{{Path: "serving", Value: out}, {Path: "updated", Value: now}})
	})
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return Serving{}, fmt.Errorf("%w: %s/%s", ErrNotFound, name, version)
		}
		return Serving{}, fmt.Errorf("registry: promote %s/%s: %w", name, version, err)
	}
	return out, nil
}

// Serving returns a model's serving pointer.
func (r *Registry) Serving(ctx context.Context, name string) (Serving, error) {
	m, err := r.Model(ctx, name)
	if err != nil {
		return Serving{}, err
	}
	if m.Serving == nil {
		return Serving{}, fmt.Errorf("%w: model %s has no deployed version", ErrNotServable, name)
	}
	return *m.Serving, nil
}

// Watch calls fn with each model's serving pointer now and whenever one
// moves, until ctx ends. It listens to Firestore; if the listen stream fails
// it falls back to polling every interval, so an instance always learns of a
// move.
func (r *Registry) Watch(ctx context.Context, interval time.Duration, fn func(name string, s Serving)) error {
	last := map[string]string{}
	emit := func(ms []Model) {
		for _, m := range ms {
			if m.Serving == nil {
				continue
			}
			key := m.Serving.Version + "@" + m.Serving.SHA256
			if last[m.Name] == key {
				continue
			}
			last[m.Name] = key
			fn(m.Name, *m.Serving)
		}
	}
	it := r.c.Collection(config.CollModels).Snapshots(ctx)
	defer it.Stop()
	for {
		qs, err := it.Next()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			break
		}
		var ms []Model
		for _, snap := range qsDocs(qs) {
			var m Model
			if snap.DataTo(&m) == nil {
				ms = append(ms, m)
			}
		}
		emit(ms)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if ms, err := r.Models(ctx); err == nil {
			emit(ms)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func qsDocs(qs *firestore.QuerySnapshot) []*firestore.DocumentSnapshot {
	var out []*firestore.DocumentSnapshot
	for {
		d, err := qs.Documents.Next()
		if err != nil {
			return out
		}
		out = append(out, d)
	}
}
