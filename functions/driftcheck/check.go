package driftcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/metrics"
	"github.com/megapipe/mega/shared/predlog"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/step"
)

// Verdicts of a check, beside drift.VerdictDrift, VerdictNoDrift and
// VerdictInsufficient.
const (
	VerdictNoReference = "no_reference" // nothing serving, or no readable reference profile
	VerdictError       = "error"        // a permanent failure (reason in the summary)
)

// callTimeout bounds one storage or Pub/Sub call.
const callTimeout = time.Minute

// readers bounds the profiles read at once.
const readers = 8

// TopFeatures is how many drifted features an alert names.
const TopFeatures = 5

// FeatureSummary is one column's verdict in a Summary.
type FeatureSummary struct {
	Feature   string   `firestore:"feature" json:"feature"`
	Kind      string   `firestore:"kind" json:"kind"`
	Method    string   `firestore:"method" json:"method,omitempty"`
	Statistic float64  `firestore:"statistic" json:"statistic"`
	PValue    *float64 `firestore:"p_value,omitempty" json:"p_value,omitempty"`
	Threshold float64  `firestore:"threshold" json:"threshold"`
	Drifted   bool     `firestore:"drifted" json:"drifted"`
	Verdict   string   `firestore:"verdict" json:"verdict"`
	Count     int64    `firestore:"count" json:"count"`
	Missing   int64    `firestore:"missing" json:"missing"`
	// Stats holds every statistic of the column (drift.FeatureResult.Stats).
	Stats map[string]float64 `firestore:"stats,omitempty" json:"stats,omitempty"`
}

// Summary is the Firestore record of one model's check.
type Summary struct {
	Model        string            `firestore:"model" json:"model"`
	Version      string            `firestore:"version" json:"version"`
	CheckID      string            `firestore:"check_id" json:"check_id"`
	CheckTime    time.Time         `firestore:"check_time" json:"check_time"`
	PeriodStart  time.Time         `firestore:"period_start" json:"period_start"`
	PeriodEnd    time.Time         `firestore:"period_end" json:"period_end"`
	Profiles     int               `firestore:"profiles" json:"profiles"`
	Rows         int64             `firestore:"rows" json:"rows"`
	Reference    string            `firestore:"reference" json:"reference,omitempty"`
	Evaluated    int               `firestore:"evaluated_features" json:"evaluated_features"`
	Drifted      int               `firestore:"drifted_features" json:"drifted_features"`
	DriftShare   float64           `firestore:"drift_share" json:"drift_share"`
	ShareBound   float64           `firestore:"drift_share_threshold" json:"drift_share_threshold"`
	DatasetDrift bool              `firestore:"dataset_drift" json:"dataset_drift"`
	Verdict      string            `firestore:"verdict" json:"verdict"`
	Reason       string            `firestore:"reason,omitempty" json:"reason,omitempty"`
	Features     []FeatureSummary  `firestore:"features" json:"features"`
	Prediction   *FeatureSummary   `firestore:"prediction,omitempty" json:"prediction,omitempty"`
	ReportJSON   string            `firestore:"report_json,omitempty" json:"report_json,omitempty"`
	ReportHTML   string            `firestore:"report_html,omitempty" json:"report_html,omitempty"`
	Metrics      int               `firestore:"metric_points" json:"metric_points"`
	MetricsError string            `firestore:"metrics_error,omitempty" json:"metrics_error,omitempty"`
	Alerted      bool              `firestore:"alerted" json:"alerted"`
	Retrain      string            `firestore:"retrain_run,omitempty" json:"retrain_run,omitempty"`
	Previous     *bool             `firestore:"previous_dataset_drift,omitempty" json:"previous_dataset_drift,omitempty"`
	Skipped      map[string]string `firestore:"skipped_profiles,omitempty" json:"skipped_profiles,omitempty"`
}

// TopFeature is a drifted feature named in an Alert.
type TopFeature struct {
	Feature   string   `json:"feature"`
	Method    string   `json:"method"`
	Statistic float64  `json:"statistic"`
	PValue    *float64 `json:"p_value,omitempty"`
	Threshold float64  `json:"threshold"`
}

// Alert is the drift-alerts message of a check whose dataset drifted.
type Alert struct {
	Kind            string       `json:"kind"` // "dataset_drift"
	Model           string       `json:"model"`
	Version         string       `json:"version"`
	CheckID         string       `json:"check_id"`
	CheckTime       time.Time    `json:"check_time"`
	Rows            int64        `json:"rows"`
	DriftShare      float64      `json:"drift_share"`
	Threshold       float64      `json:"drift_share_threshold"`
	Drifted         int          `json:"drifted_features"`
	Evaluated       int          `json:"evaluated_features"`
	PredictionDrift bool         `json:"prediction_drift"`
	TopFeatures     []TopFeature `json:"top_features"`
	Report          string       `json:"report"`
	ReportHTML      string       `json:"report_html"`
}

// AlertKind is Alert.Kind.
const AlertKind = "dataset_drift"

// Attributes of the drift-alerts messages this function publishes.
const AttrSource = "driftcheck"

// check runs one model's check. Permanent problems (nothing serving, no
// reference) end in a no_reference summary and a nil error.
func (c *Checker) check(ctx context.Context, model string, at time.Time, eventID string) (Summary, error) {
	s := Summary{Model: model, CheckID: CheckID(at), CheckTime: at, PeriodStart: at.Add(-c.period()), PeriodEnd: at,
		ShareBound: c.Policy.DriftShare, Features: []FeatureSummary{}}
	prev, err := c.previous(ctx, model, at)
	if err != nil {
		return Summary{}, err
	}
	s.Previous = prev
	ver, ref, err := c.serving(ctx, model)
	if err != nil {
		if !step.IsPermanent(err) {
			return Summary{}, err
		}
		s.Version, s.Verdict, s.Reason = ver.Version, VerdictNoReference, err.Error()
		slog.WarnContext(ctx, "model cannot be checked", "reason", s.Reason)
		return s, c.saveSummary(ctx, s)
	}
	s.Version, s.Reference = ver.Version, ref.ID
	win, n, skipped, err := c.merge(ctx, model, ver.Version, ref, at)
	if err != nil {
		return Summary{}, err
	}
	s.Profiles, s.Skipped = n, skipped
	rep, err := drift.Check(ref, win, c.Policy)
	if err != nil {
		return Summary{}, step.Permanent(err) // cannot happen with a validated reference and bound window
	}
	rep.Labels = map[string]string{"model": model, "version": ver.Version, "check_id": s.CheckID,
		"check_time": at.Format(time.RFC3339), "period_start": s.PeriodStart.Format(time.RFC3339),
		"period_end": at.Format(time.RFC3339), "profiles": strconv.Itoa(n)}
	s.fill(rep)
	if s.ReportJSON, s.ReportHTML, err = c.writeReport(ctx, model, at, rep); err != nil {
		return Summary{}, err
	}
	if s.Verdict != drift.VerdictInsufficient {
		points := Points(s)
		s.Metrics = len(points)
		if _, err := c.once(ctx, model, at, "metrics", eventID, func() (string, error) {
			if err := c.pushMetrics(ctx, points); err != nil {
				s.MetricsError = err.Error()
				slog.ErrorContext(ctx, "metrics push failed; not retried", "error", err)
				return "failed: " + err.Error(), nil
			}
			return "succeeded", nil
		}); err != nil {
			return Summary{}, err
		}
	}
	if s.DatasetDrift {
		a := AlertOf(s)
		if _, err := c.once(ctx, model, at, "alert", eventID, func() (string, error) {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			defer cancel()
			id, err := c.Topics.PublishJSON(cctx, config.TopicDriftAlerts, a,
				map[string]string{"source": AttrSource, "model": model, "version": ver.Version, "kind": AlertKind})
			if err != nil {
				return "", fmt.Errorf("publish alert: %w", err)
			}
			slog.InfoContext(ctx, "drift alert published", "message_id", id, "drift_share", s.DriftShare)
			return "published " + id, nil
		}); err != nil {
			return Summary{}, err
		}
		s.Alerted = true
		if c.Retrain && (prev == nil || !*prev) {
			if err := c.retrain(ctx, &s, ver, at, eventID); err != nil {
				return Summary{}, err
			}
		}
	}
	return s, c.saveSummary(ctx, s)
}

// fill copies a report's verdicts into the summary.
func (s *Summary) fill(r *drift.Report) {
	s.Rows, s.Evaluated, s.Drifted, s.DriftShare, s.DatasetDrift = r.Rows, r.Evaluated, r.Drifted, r.DriftShare, r.DatasetDrift
	for _, f := range r.Features {
		s.Features = append(s.Features, featureSummary(f))
	}
	if r.Prediction != nil {
		p := featureSummary(*r.Prediction)
		s.Prediction = &p
	}
	switch {
	case r.Evaluated == 0:
		s.Verdict = drift.VerdictInsufficient
		s.Reason = fmt.Sprintf("insufficient data: %d rows in the period; a verdict needs %d values of a feature", r.Rows, r.Policy.MinCount)
	case r.DatasetDrift:
		s.Verdict = drift.VerdictDrift
	default:
		s.Verdict = drift.VerdictNoDrift
	}
}

func featureSummary(f drift.FeatureResult) FeatureSummary {
	return FeatureSummary{Feature: f.Feature, Kind: string(f.Kind), Method: string(f.Method), Statistic: f.Statistic,
		PValue: f.PValue, Threshold: f.Threshold, Drifted: f.Drifted, Verdict: f.Verdict, Count: f.Count, Missing: f.Missing,
		Stats: f.Stats}
}

// serving returns the serving version of a model and its reference profile.
// Problems no retry can fix are permanent.
func (c *Checker) serving(ctx context.Context, model string) (registry.Version, *drift.Reference, error) {
	sv, err := c.Registry.Serving(ctx, model)
	if errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrNotServable) {
		return registry.Version{}, nil, step.Permanent(err)
	}
	if err != nil {
		return registry.Version{}, nil, err
	}
	ver, err := c.Registry.Get(ctx, model, sv.Version)
	if errors.Is(err, registry.ErrNotFound) {
		return registry.Version{Version: sv.Version}, nil, step.Permanent(err)
	}
	if err != nil {
		return registry.Version{}, nil, err
	}
	a, ok := ver.Artifacts[ReferenceArtifact]
	if !ok || a.URI == "" {
		return ver, nil, step.Permanentf("version %s of %s has no %q artifact (a drift reference profile)", ver.Version, model, ReferenceArtifact)
	}
	if r, ok := c.refs.Load(a.URI); ok {
		return ver, r.(*drift.Reference), nil
	}
	bucket, name, err := events.ParseObjectURI(a.URI)
	if err != nil {
		return ver, nil, step.Permanent(err)
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	b, err := c.Store.ReadAll(cctx, bucket, name)
	if errors.Is(err, blob.ErrNotExist) {
		return ver, nil, step.Permanent(err)
	}
	if err != nil {
		return ver, nil, fmt.Errorf("read reference: %w", err)
	}
	ref, err := drift.ParseReference(b)
	if err != nil {
		return ver, nil, step.Permanentf("reference %s: %w", a.URI, err)
	}
	c.refs.Store(a.URI, ref)
	return ver, ref, nil
}

// merge folds the version's window profiles of the period into one window.
// Per window it reads collect's aggregate (<version>.window.json, one per
// window); for a window without one (written before collect kept
// aggregates) it lists the per-batch profiles (<batch>-<version>.profile.json)
// and merges them in object name order. It returns the window, the number of
// profiles merged and the skipped ones with the reason.
func (c *Checker) merge(ctx context.Context, model, version string, ref *drift.Reference, at time.Time) (*drift.Window, int, map[string]string, error) {
	win, err := drift.NewWindow(ref)
	if err != nil {
		return nil, 0, nil, step.Permanent(err)
	}
	skipped := map[string]string{}
	n := 0
	suffix := predlog.ProfileSuffixOf(version)
	var names []string
	for _, start := range WindowStarts(at, c.period(), c.window()) {
		agg := predlog.AggregateName(model, version, start)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		b, err := c.Store.ReadAll(cctx, c.Bucket, agg)
		cancel()
		if err == nil {
			w, err := drift.ParseWindow(b, ref)
			if err == nil {
				err = win.Merge(w)
			}
			if err != nil {
				slog.WarnContext(ctx, "skipping window aggregate", "object", agg, "error", err)
				skipped[agg] = err.Error()
				continue
			}
			n++
			continue
		}
		if !errors.Is(err, blob.ErrNotExist) {
			return nil, 0, nil, fmt.Errorf("read aggregate: %w", err)
		}
		cctx, cancel = context.WithTimeout(ctx, callTimeout)
		objs, err := c.Store.List(cctx, c.Bucket, predlog.WindowPrefix(model, start))
		cancel()
		if err != nil {
			return nil, 0, nil, fmt.Errorf("list profiles: %w", err)
		}
		for _, o := range objs {
			if strings.HasSuffix(o.Name, suffix) {
				names = append(names, o.Name)
			}
		}
	}
	sort.Strings(names)
	// Read and decode up to `readers` profiles at a time, then merge them in
	// name order (so the result does not depend on timing), so memory holds
	// at most `readers` decoded profiles whatever the traffic.
	wins := make([]*drift.Window, readers)
	errs := make([]error, readers)
	for lo := 0; lo < len(names); lo += readers {
		chunk := names[lo:min(lo+readers, len(names))]
		var wg sync.WaitGroup
		for i, name := range chunk {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cctx, cancel := context.WithTimeout(ctx, callTimeout)
				defer cancel()
				b, err := c.Store.ReadAll(cctx, c.Bucket, name)
				if err != nil {
					wins[i], errs[i] = nil, err
					return
				}
				wins[i], errs[i] = drift.ParseWindow(b, ref)
			}()
		}
		wg.Wait()
		for i, name := range chunk {
			err := errs[i]
			switch {
			case err == nil:
			case errors.Is(err, blob.ErrNotExist):
				continue // deleted between list and read
			case errors.Is(err, drift.ErrFormat), errors.Is(err, drift.ErrMismatch), errors.Is(err, drift.ErrSchema):
				slog.WarnContext(ctx, "skipping window profile", "object", name, "error", err)
				skipped[name] = err.Error()
				continue
			default:
				return nil, 0, nil, fmt.Errorf("read profile: %w", err)
			}
			if err := win.Merge(wins[i]); err != nil {
				skipped[name] = err.Error()
				continue
			}
			wins[i] = nil
			n++
		}
	}
	if len(skipped) == 0 {
		skipped = nil
	}
	return win, n, skipped, nil
}

func (c *Checker) writeReport(ctx context.Context, model string, at time.Time, rep *drift.Report) (string, string, error) {
	jb, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", "", fmt.Errorf("encode report: %w", err)
	}
	var hb bytes.Buffer
	if err := rep.WriteHTML(&hb); err != nil {
		return "", "", fmt.Errorf("render report: %w", err)
	}
	jn, hn := ReportNames(model, at)
	meta := map[string]string{"model": model, "version": rep.Labels["version"], "check_id": CheckID(at)}
	for _, o := range []struct {
		name, ctype string
		data        []byte
	}{{jn, "application/json", append(jb, '\n')}, {hn, "text/html; charset=utf-8", hb.Bytes()}} {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		_, err := c.Store.Put(cctx, c.Bucket, o.name, o.data, blob.WriteOptions{ContentType: o.ctype, Metadata: meta})
		cancel()
		if err != nil {
			return "", "", fmt.Errorf("write report: %w", err)
		}
	}
	return events.ObjectURI(c.Bucket, jn), events.ObjectURI(c.Bucket, hn), nil
}

// MethodLabel maps a key of drift.FeatureResult.Stats to the "method" label
// of drift/statistic (the names the alert policies filter on); "" means the
// key is not pushed (p-values and error bounds).
func MethodLabel(stat string) string {
	switch stat {
	case "psi", "jensenshannon", "ks", "chisquare", "linf":
		return stat
	case "wasserstein_norm":
		return "wasserstein"
	}
	return ""
}

// Points are the metric points of a check: for each feature (and the
// prediction) with a verdict, its statistics by method and its drifted flag;
// and the dataset drift share. A check with no verdict has none.
func Points(s Summary) []metrics.Point {
	if s.Verdict != drift.VerdictDrift && s.Verdict != drift.VerdictNoDrift {
		return nil
	}
	var out []metrics.Point
	cols := s.Features
	if s.Prediction != nil {
		cols = append(slices.Clone(cols), *s.Prediction)
	}
	for _, f := range cols {
		if f.Verdict != drift.VerdictDrift && f.Verdict != drift.VerdictNoDrift {
			continue
		}
		keys := make([]string, 0, len(f.Stats))
		for k := range f.Stats {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m := MethodLabel(k)
			if m == "" {
				continue
			}
			out = append(out, metrics.Point{Metric: metrics.DriftStatistic, Value: f.Stats[k], Time: s.CheckTime,
				Labels: map[string]string{"model": s.Model, "version": s.Version, "feature": f.Feature, "method": m}})
		}
		out = append(out, metrics.Point{Metric: metrics.DriftDrifted, Value: b2f(f.Drifted), Time: s.CheckTime,
			Labels: map[string]string{"model": s.Model, "version": s.Version, "feature": f.Feature}})
	}
	return append(out, metrics.Point{Metric: metrics.DriftDatasetShare, Value: s.DriftShare, Time: s.CheckTime,
		Labels: map[string]string{"model": s.Model, "version": s.Version}})
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *Checker) pushMetrics(ctx context.Context, points []metrics.Point) error {
	if c.Metrics == nil {
		return errors.New("no metrics client")
	}
	err := c.Metrics.Write(ctx, points...)
	if errors.Is(err, metrics.ErrOutOfOrder) {
		slog.WarnContext(ctx, "some metric points are older than points already written; dropped", "error", err)
		err = nil
	}
	if err != nil {
		return err
	}
	return c.Metrics.Flush(ctx)
}

// AlertOf builds the alert of a drifted check: the drifted features ranked
// by how far they pass their threshold (statistic/threshold for distances,
// log p / log threshold for p-values), at most TopFeatures.
func AlertOf(s Summary) Alert {
	a := Alert{Kind: AlertKind, Model: s.Model, Version: s.Version, CheckID: s.CheckID, CheckTime: s.CheckTime,
		Rows: s.Rows, DriftShare: s.DriftShare, Threshold: s.ShareBound, Drifted: s.Drifted, Evaluated: s.Evaluated,
		PredictionDrift: s.Prediction != nil && s.Prediction.Drifted, Report: s.ReportJSON, ReportHTML: s.ReportHTML,
		TopFeatures: []TopFeature{}}
	type ranked struct {
		f     FeatureSummary
		score float64
	}
	var rs []ranked
	for _, f := range s.Features {
		if f.Drifted {
			rs = append(rs, ranked{f, excess(f)})
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].score > rs[j].score })
	for _, r := range rs[:min(len(rs), TopFeatures)] {
		a.TopFeatures = append(a.TopFeatures, TopFeature{Feature: r.f.Feature, Method: r.f.Method, Statistic: r.f.Statistic,
			PValue: r.f.PValue, Threshold: r.f.Threshold})
	}
	return a
}

// excess is how far a feature passes its threshold: statistic/threshold for
// a distance, log(p)/log(threshold) for a p-value (both > 1 when drifted).
func excess(f FeatureSummary) float64 {
	if f.PValue != nil {
		p := math.Max(*f.PValue, math.SmallestNonzeroFloat64)
		return math.Log(p) / math.Log(f.Threshold)
	}
	if f.Threshold <= 0 {
		return math.Inf(1)
	}
	return f.Statistic / f.Threshold
}
