package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/megapipe/mega/shared/benchmark"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
)

// Data is everything a report shows. It is JSON-serializable: `mega report
// --json` prints it, and Render draws it.
type Data struct {
	Generated time.Time         `json:"generated"`
	RunID     string            `json:"run_id"`
	Run       *runs.Run         `json:"run,omitempty"`
	Version   *registry.Version `json:"version,omitempty"`
	Benchmark *Benchmark        `json:"benchmark,omitempty"`
	Drift     []DriftCheck      `json:"drift,omitempty"` // oldest first
	Incidents []Incident        `json:"incidents,omitempty"`
	Gaps      map[string]string `json:"gaps,omitempty"` // section -> why it has no data
}

// Sections of a report, the keys of Data.Gaps.
const (
	SectionRun       = "run"
	SectionVersion   = "version"
	SectionBenchmark = "benchmark"
	SectionDrift     = "drift"
	SectionAlerts    = "alerts"
)

// Benchmark is benchmark.json as the quantize step writes it: the models of
// one version measured side by side, and the gate's verdict.
type Benchmark struct {
	Report benchmark.Report   `json:"benchmark"`
	Gate   *benchmark.Verdict `json:"gate,omitempty"`
}

// DriftCheck is one drift check of a model (functions/driftcheck stores them
// in Firestore collection "drift"): the dataset verdict and, per feature, the
// statistic of the method that decided it.
type DriftCheck struct {
	CheckID      string         `json:"check_id"`
	CheckTime    time.Time      `json:"check_time"`
	Version      string         `json:"version"`
	Rows         int64          `json:"rows"`
	Evaluated    int            `json:"evaluated_features"`
	Drifted      int            `json:"drifted_features"`
	DriftShare   float64        `json:"drift_share"`
	ShareBound   float64        `json:"drift_share_threshold"`
	DatasetDrift bool           `json:"dataset_drift"`
	Verdict      string         `json:"verdict"`
	Features     []FeatureDrift `json:"features"`
	Prediction   *FeatureDrift  `json:"prediction,omitempty"`
	ReportHTML   string         `json:"report_html,omitempty"`
}

// FeatureDrift is one column's result in a DriftCheck. For the p-value
// methods (ks, chisquare) the verdict compares PValue with Threshold (drift
// below it); for the others Statistic (drift above it).
type FeatureDrift struct {
	Feature   string             `json:"feature"`
	Kind      string             `json:"kind"`
	Method    string             `json:"method"`
	Statistic float64            `json:"statistic"`
	PValue    *float64           `json:"p_value,omitempty"`
	Threshold float64            `json:"threshold"`
	Drifted   bool               `json:"drifted"`
	Verdict   string             `json:"verdict"`
	Count     int64              `json:"count"`
	Stats     map[string]float64 `json:"stats,omitempty"`
}

// Incident is one alert incident (the Monitoring emulator's /api/incidents,
// or Cloud Monitoring's incident notifications).
type Incident struct {
	ID        string            `json:"incident_id"`
	Policy    string            `json:"policy_name"`
	Condition string            `json:"condition_name"`
	State     string            `json:"state"` // open | closed
	Started   time.Time         `json:"started_at"`
	Ended     *time.Time        `json:"ended_at,omitempty"`
	Metric    string            `json:"metric_type"`
	Labels    map[string]string `json:"metric_labels,omitempty"`
	Threshold float64           `json:"threshold_value"`
	Observed  float64           `json:"observed_value"`
	Summary   string            `json:"summary,omitempty"`
}

// RunSource reads run records (*runs.Store is one).
type RunSource interface {
	Get(ctx context.Context, id string) (runs.Run, error)
}

// VersionSource reads model versions (*registry.Registry is one).
type VersionSource interface {
	Get(ctx context.Context, model, version string) (registry.Version, error)
}

// ArtifactSource reads artifacts by gs:// URI (*step.Env is one).
type ArtifactSource interface {
	ReadArtifact(ctx context.Context, uri string) ([]byte, error)
}

// DriftSource lists a model's drift checks, newest first, at most limit.
type DriftSource interface {
	DriftHistory(ctx context.Context, model string, limit int) ([]DriftCheck, error)
}

// AlertSource lists alert incidents.
type AlertSource interface {
	Incidents(ctx context.Context) ([]Incident, error)
}

// Sources are where Gather reads. Runs is required; a nil source leaves its
// section empty, with the reason in Data.Gaps.
type Sources struct {
	Runs      RunSource
	Versions  VersionSource
	Artifacts ArtifactSource
	Drift     DriftSource
	Alerts    AlertSource
	// DriftLimit bounds the drift checks read (default 48).
	DriftLimit int
	// Now is the report's time (default time.Now).
	Now func() time.Time
}

// ErrNoRun is returned by Gather when the run does not exist.
var ErrNoRun = errors.New("report: no such run")

// Gather collects the report of one run: its run record, the registry
// version it produced, that version's benchmark.json, the drift checks of the
// model and the alert incidents about it. Only a missing or unreadable run
// record is an error; any other source that fails or has nothing yet leaves
// its section empty with the reason in Data.Gaps, so a report can be written
// at any point of a run.
func Gather(ctx context.Context, src Sources, runID string) (*Data, error) {
	if runID == "" {
		return nil, errors.New("report: gather: run id is empty")
	}
	if src.Runs == nil {
		return nil, errors.New("report: gather: no run source")
	}
	now := time.Now
	if src.Now != nil {
		now = src.Now
	}
	d := &Data{Generated: now().UTC(), RunID: runID, Gaps: map[string]string{}}
	r, err := src.Runs.Get(ctx, runID)
	if err != nil {
		if errors.Is(err, runs.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s", ErrNoRun, runID)
		}
		return nil, fmt.Errorf("report: gather run %s: %w", runID, err)
	}
	d.Run = &r
	model := r.Model
	switch {
	case r.Model == "" || r.Version == "":
		d.gap(SectionVersion, "the run has not registered a model version yet")
	case src.Versions == nil:
		d.gap(SectionVersion, "no registry to read")
	default:
		v, err := src.Versions.Get(ctx, r.Model, r.Version)
		if err != nil {
			d.gap(SectionVersion, err.Error())
		} else {
			d.Version = &v
		}
	}
	d.gatherBenchmark(ctx, src)
	if model == "" {
		model = r.Dataset // models are named after their dataset
	}
	d.gatherDrift(ctx, src, model)
	d.gatherAlerts(ctx, src, model)
	return d, nil
}

func (d *Data) gap(section, why string) {
	if d.Gaps == nil {
		d.Gaps = map[string]string{}
	}
	d.Gaps[section] = why
}

func (d *Data) gatherBenchmark(ctx context.Context, src Sources) {
	uri := ""
	if d.Version != nil {
		uri = d.Version.Artifacts["benchmark"].URI
	}
	if uri == "" && d.Run != nil {
		uri = d.Run.Steps["quantize"].Outputs["benchmark"]
	}
	switch {
	case uri == "":
		d.gap(SectionBenchmark, "the quantize step has not written benchmark.json yet")
		return
	case src.Artifacts == nil:
		d.gap(SectionBenchmark, "no artifact store to read")
		return
	}
	raw, err := src.Artifacts.ReadArtifact(ctx, uri)
	if err != nil {
		d.gap(SectionBenchmark, err.Error())
		return
	}
	b, err := ParseBenchmark(raw)
	if err != nil {
		d.gap(SectionBenchmark, fmt.Sprintf("%s: %v", uri, err))
		return
	}
	d.Benchmark = b
}

// ParseBenchmark decodes benchmark.json ({"benchmark": ..., "gate": ...}).
func ParseBenchmark(raw []byte) (*Benchmark, error) {
	var b Benchmark
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("report: parse benchmark: %w", err)
	}
	if len(b.Report.Models) == 0 {
		return nil, errors.New("report: parse benchmark: no models")
	}
	for i, m := range b.Report.Models {
		if m == nil || m.Name == "" {
			return nil, fmt.Errorf("report: parse benchmark: model %d has no name", i)
		}
		if m.Bytes < 0 || m.LatencyNs.Median < 0 {
			return nil, fmt.Errorf("report: parse benchmark: model %s has a negative size or latency", m.Name)
		}
		if c := m.Scores.Classification; c != nil {
			for _, row := range c.Confusion {
				if len(row) != len(c.Confusion) {
					return nil, fmt.Errorf("report: parse benchmark: model %s: confusion matrix is not square", m.Name)
				}
				for _, n := range row {
					if n < 0 {
						return nil, fmt.Errorf("report: parse benchmark: model %s: negative count in the confusion matrix", m.Name)
					}
				}
			}
		}
	}
	return &b, nil
}

func (d *Data) gatherDrift(ctx context.Context, src Sources, model string) {
	if src.Drift == nil {
		d.gap(SectionDrift, "no drift store to read")
		return
	}
	limit := src.DriftLimit
	if limit <= 0 {
		limit = 48
	}
	checks, err := src.Drift.DriftHistory(ctx, model, limit)
	if err != nil {
		d.gap(SectionDrift, err.Error())
		return
	}
	if len(checks) == 0 {
		d.gap(SectionDrift, "no drift check of model "+model+" yet: checks run every 5 minutes once it serves")
		return
	}
	checks = slices.Clone(checks)
	sort.SliceStable(checks, func(i, j int) bool { return checks[i].CheckTime.Before(checks[j].CheckTime) })
	d.Drift = checks
}

func (d *Data) gatherAlerts(ctx context.Context, src Sources, model string) {
	if src.Alerts == nil {
		d.gap(SectionAlerts, "no alert source to read")
		return
	}
	all, err := src.Alerts.Incidents(ctx)
	if err != nil {
		d.gap(SectionAlerts, err.Error())
		return
	}
	for _, in := range all {
		// Megapipe's drift metrics carry the model label; incidents about
		// another model are not this report's.
		if m, ok := in.Labels["model"]; ok && m != model {
			continue
		}
		d.Incidents = append(d.Incidents, in)
	}
	sort.SliceStable(d.Incidents, func(i, j int) bool { return d.Incidents[i].Started.Before(d.Incidents[j].Started) })
}
