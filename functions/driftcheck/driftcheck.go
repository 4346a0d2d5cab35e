package driftcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/ledger"
	"github.com/megapipe/mega/shared/logging"
	"github.com/megapipe/mega/shared/metrics"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

// EntryPoint is the name the function registers with functions-framework-go
// and the entry point it is deployed under.
const EntryPoint = config.FuncDriftCheck

// StepName is the value of "step" in drift-tick messages.
const StepName = "driftcheck"

// ReferenceArtifact is the registry artifact holding a version's drift
// reference profile.
const ReferenceArtifact = "reference"

// Defaults of the period and of collect's window length.
const (
	DefaultPeriod = 5 * time.Minute
	DefaultWindow = config.DefaultCollectWindow
)

// CheckIDLayout formats a check time as it appears in object names and
// document ids.
const CheckIDLayout = "20060102T150405Z"

// Store reads and writes objects (package blob's Store).
type Store interface {
	Put(ctx context.Context, bucket, name string, data []byte, o blob.WriteOptions) (int64, error)
	ReadAll(ctx context.Context, bucket, name string) ([]byte, error)
	List(ctx context.Context, bucket, prefix string) ([]blob.Attrs, error)
}

// Publisher publishes JSON messages (package topic's Publisher).
type Publisher interface {
	PublishJSON(ctx context.Context, topic string, v any, attrs map[string]string) (string, error)
}

// MetricWriter writes metric points (package metrics' Client).
type MetricWriter interface {
	Write(ctx context.Context, points ...metrics.Point) error
	Flush(ctx context.Context) error
}

// Checker runs drift checks. Build it with New or set every field.
type Checker struct {
	Store    Store
	Bucket   string // the artifacts bucket
	Docs     *firestore.Client
	Registry *registry.Registry
	Runs     *runs.Store
	Ledger   *ledger.Ledger
	Topics   Publisher
	Metrics  MetricWriter
	Policy   drift.Policy
	Period   time.Duration // default DefaultPeriod
	Window   time.Duration // collect's window length, default DefaultWindow
	Retrain  bool          // the closed loop (MEGA_DRIFT_RETRAIN=1)
	// Now is the clock [time.Now]: the check time of a tick that carries
	// no publish time, and the "updated" time of the model's document.
	Now func() time.Time

	refs sync.Map // reference URI -> *drift.Reference
}

// Options are the settings read from the environment.
type Options struct {
	Policy  drift.Policy
	Period  time.Duration
	Window  time.Duration
	Retrain bool
}

// OptionsFromEnv reads MEGA_DRIFT_PERIOD (a duration from 1m to 24h),
// MEGA_COLLECT_WINDOW (as collect reads it: a duration of at least 1m, else
// the default), MEGA_DRIFT_RETRAIN (1 or true) and MEGA_DRIFT_POLICY
// (default or vertex).
func OptionsFromEnv() (Options, error) { return optionsFromLookup(os.LookupEnv) }

func optionsFromLookup(lookup func(string) (string, bool)) (Options, error) {
	o := Options{Policy: drift.DefaultPolicy(), Period: DefaultPeriod, Window: DefaultWindow}
	var errs []error
	dur := func(k string, dst *time.Duration) {
		v, ok := lookup(k)
		if !ok || strings.TrimSpace(v) == "" {
			return
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < time.Minute || d > 24*time.Hour {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration from 1m to 24h", k, v))
			return
		}
		*dst = d
	}
	dur("MEGA_DRIFT_PERIOD", &o.Period)
	// The window length is collect's setting, read by the same function
	// collect uses, so both agree on the object layout.
	o.Window = config.CollectWindow(lookup)
	switch v, _ := lookup("MEGA_DRIFT_RETRAIN"); strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false":
	case "1", "true":
		o.Retrain = true
	default:
		errs = append(errs, fmt.Errorf("MEGA_DRIFT_RETRAIN=%q: want 1 or 0", v))
	}
	switch v, _ := lookup("MEGA_DRIFT_POLICY"); strings.TrimSpace(v) {
	case "", "default":
	case "vertex":
		o.Policy = drift.VertexPolicy()
	default:
		errs = append(errs, fmt.Errorf("MEGA_DRIFT_POLICY=%q: want default or vertex", v))
	}
	if err := errors.Join(errs...); err != nil {
		return Options{}, fmt.Errorf("driftcheck: options: %w", err)
	}
	return o, nil
}

// New builds a Checker over a step environment and a metrics client.
func New(env *step.Env, m MetricWriter, o Options) *Checker {
	return &Checker{Store: env.Blob, Bucket: env.Config.ArtifactsBucket, Docs: env.Docs, Registry: registry.New(env.Docs),
		Runs: env.Runs, Ledger: env.Ledger, Topics: env.Topics, Metrics: m,
		Policy: o.Policy, Period: o.Period, Window: o.Window, Retrain: o.Retrain}
}

var (
	defaultMu sync.Mutex
	defaultC  *Checker
)

// defaultChecker builds the checker from the environment on first use
// (never in init); a failed build is not cached.
func defaultChecker(ctx context.Context) (*Checker, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultC != nil {
		return defaultC, nil
	}
	o, err := OptionsFromEnv()
	if err != nil {
		return nil, err
	}
	env, err := step.Default(ctx)
	if err != nil {
		return nil, err
	}
	defaultC = New(env, metrics.New(env.Config), o)
	return defaultC, nil
}

func init() {
	functions.CloudEvent(EntryPoint, func(ctx context.Context, e event.Event) error {
		c, err := defaultChecker(ctx)
		if err != nil {
			return fmt.Errorf("driftcheck: clients: %w", err)
		}
		return c.Handle(ctx, e)
	})
}

// Tick is the data of a drift-tick message.
type Tick struct {
	Step  string `json:"step"`
	Model string `json:"model,omitempty"` // empty: every serving model
}

// ErrBadTick marks a tick that cannot be acted on.
var ErrBadTick = errors.New("bad drift tick")

// ParseTick decodes a tick's message data. Empty data is a tick for every
// model. A step other than "driftcheck" (or empty) is refused.
func ParseTick(data []byte) (Tick, error) {
	var t Tick
	if len(strings.TrimSpace(string(data))) == 0 {
		return Tick{Step: StepName}, nil
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return Tick{}, fmt.Errorf("parse tick: %w: %w", ErrBadTick, err)
	}
	if t.Step != "" && t.Step != StepName {
		return Tick{}, fmt.Errorf("parse tick: %w: step %q, want %q", ErrBadTick, t.Step, StepName)
	}
	if t.Model != "" && !validName(t.Model) {
		return Tick{}, fmt.Errorf("parse tick: %w: model name %q", ErrBadTick, t.Model)
	}
	t.Step = StepName
	return t, nil
}

// validName accepts names that are safe in object names and document ids.
func validName(s string) bool {
	if s == "" || len(s) > 200 || s == "." || s == ".." {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// CheckID formats a check time.
func CheckID(t time.Time) string { return t.UTC().Format(CheckIDLayout) }

// Handle runs the check a drift-tick CloudEvent asks for. See the package
// comment for the retry policy.
func (c *Checker) Handle(ctx context.Context, e event.Event) error {
	ctx = logging.With(ctx, "function", EntryPoint, "event_id", e.ID())
	if e.Type() != events.TypeMessagePublished {
		slog.ErrorContext(ctx, "dropping event of unexpected type", "type", e.Type())
		return nil
	}
	var d events.MessagePublishedData
	if err := json.Unmarshal(e.Data(), &d); err != nil {
		slog.ErrorContext(ctx, "dropping malformed event", "error", err)
		return nil
	}
	tick, err := ParseTick(d.Message.Data)
	if err != nil {
		slog.ErrorContext(ctx, "dropping unreadable tick", "error", err)
		return nil
	}
	at := d.Message.PublishTime
	if at.IsZero() {
		at = e.Time()
	}
	if at.IsZero() {
		slog.WarnContext(ctx, "tick has no publish time; checking at the current time")
		at = c.now()
	}
	eventID := e.ID()
	if eventID == "" {
		eventID = d.Message.MessageID
	}
	_, err = c.Run(ctx, tick, at, eventID)
	return err
}

// Run checks the models a tick names at time at. It returns the summaries of
// the checks it ran (not those a previous delivery completed) and the
// transient errors, joined.
func (c *Checker) Run(ctx context.Context, tick Tick, at time.Time, eventID string) ([]Summary, error) {
	at = at.UTC().Truncate(time.Second)
	ctx = logging.With(ctx, "check_id", CheckID(at))
	var models []string
	if tick.Model != "" {
		models = []string{tick.Model}
	} else {
		ms, err := c.Registry.Models(ctx)
		if err != nil {
			return nil, fmt.Errorf("driftcheck: %w", err)
		}
		for _, m := range ms {
			if m.Serving != nil && validName(m.Name) {
				models = append(models, m.Name)
			}
		}
	}
	if len(models) == 0 {
		slog.InfoContext(ctx, "no serving model to check")
	}
	var out []Summary
	var errs []error
	for _, m := range models {
		s, ran, err := c.checkOnce(logging.With(ctx, "model", m), m, at, eventID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ran {
			out = append(out, s)
		}
	}
	return out, errors.Join(errs...)
}

// ledgerKey names one model's check (and, with a suffix, its side effects).
func ledgerKey(model string, at time.Time, effect string) string {
	k := EntryPoint + "-" + CheckID(at) + "-" + model
	if effect != "" {
		k += "-" + effect
	}
	return k
}

// checkOnce runs one model's check unless a delivery completed it.
func (c *Checker) checkOnce(ctx context.Context, model string, at time.Time, eventID string) (Summary, bool, error) {
	key := ledgerKey(model, at, "")
	done, err := c.Ledger.Claim(ctx, key, eventID)
	if err != nil {
		return Summary{}, false, fmt.Errorf("driftcheck %s: %w", model, err)
	}
	if done {
		slog.InfoContext(ctx, "check already done; nothing to do", "key", key)
		return Summary{}, false, nil
	}
	s, err := c.check(ctx, model, at, eventID)
	if err != nil && step.IsPermanent(err) {
		// No retry can fix it: record it where `mega drift` shows it, and
		// mark the check done.
		slog.ErrorContext(ctx, "check failed permanently; not retrying", "error", err)
		s = Summary{Model: model, CheckID: CheckID(at), CheckTime: at, PeriodStart: at.Add(-c.period()), PeriodEnd: at,
			Verdict: VerdictError, Reason: err.Error(), Features: []FeatureSummary{}}
		if serr := c.saveSummary(ctx, s); serr != nil {
			err = serr // transient: retried below
		} else {
			err = nil
		}
	}
	if err != nil {
		slog.WarnContext(ctx, "check failed; the tick will be retried", "error", err)
		if rerr := c.Ledger.Release(context.WithoutCancel(ctx), key, eventID); rerr != nil {
			slog.WarnContext(ctx, "cannot release claim; the retry waits for the lease", "error", rerr)
		}
		return Summary{}, false, fmt.Errorf("driftcheck %s: %w", model, err)
	}
	if err := c.Ledger.Complete(ctx, key, eventID, s.Verdict); err != nil {
		return Summary{}, false, fmt.Errorf("driftcheck %s: %w", model, err)
	}
	slog.InfoContext(ctx, "check finished", "version", s.Version, "verdict", s.Verdict, "rows", s.Rows,
		"drift_share", s.DriftShare, "alerted", s.Alerted)
	return s, true, nil
}

// once runs fn unless the ledger records effect as done for this check; it
// completes the key when fn succeeds and releases it when fn fails.
func (c *Checker) once(ctx context.Context, model string, at time.Time, effect, eventID string, fn func() (string, error)) (bool, error) {
	key := ledgerKey(model, at, effect)
	done, err := c.Ledger.Claim(ctx, key, eventID)
	if err != nil {
		return false, err
	}
	if done {
		return false, nil
	}
	outcome, err := fn()
	if err != nil {
		if rerr := c.Ledger.Release(context.WithoutCancel(ctx), key, eventID); rerr != nil {
			slog.WarnContext(ctx, "cannot release claim", "key", key, "error", rerr)
		}
		return false, err
	}
	if err := c.Ledger.Complete(ctx, key, eventID, outcome); err != nil {
		return true, err
	}
	return true, nil
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Checker) period() time.Duration {
	if c.Period <= 0 {
		return DefaultPeriod
	}
	return c.Period
}

func (c *Checker) window() time.Duration {
	if c.Window <= 0 {
		return DefaultWindow
	}
	return c.Window
}

// WindowStarts returns the starts of collect's windows of length w that
// overlap the period [at-period, at]: every window start s aligned to w (UTC)
// with at-period-w < s <= at, oldest first.
func WindowStarts(at time.Time, period, w time.Duration) []time.Time {
	at = at.UTC()
	last := at.Truncate(w)
	var out []time.Time
	for s := last; s.After(at.Add(-period - w)); s = s.Add(-w) {
		out = append(out, s)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// ReportNames are the objects of one check's report.
func ReportNames(model string, at time.Time) (jsonName, htmlName string) {
	base := "drift/" + model + "/" + CheckID(at) + "/report"
	return base + ".json", base + ".html"
}
