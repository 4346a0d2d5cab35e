// Command gen writes shared/alerting's alert policy files from the drift
// policies the drift check uses (shared/drift), so each threshold has one
// home: policies.json from drift.DefaultPolicy and policies_vertex.json from
// drift.VertexPolicy (MEGA_DRIFT_POLICY=vertex). Run it with `go generate
// ./shared/alerting`; a test checks that the committed files are its output.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"

	"github.com/megapipe/mega/shared/alerting"
	"github.com/megapipe/mega/shared/drift"
)

// Files maps each generated file to the drift policy it alerts on and the
// value of MEGA_DRIFT_POLICY that selects that policy.
var Files = []struct {
	Name   string
	Env    string
	Policy drift.Policy
	Origin string // where the feature thresholds come from, for the documentation
}{
	{alerting.PolicyFile(alerting.DriftPolicyDefault), alerting.DriftPolicyDefault, drift.DefaultPolicy(),
		"the usual PSI rule; Evidently's defaults for Jensen-Shannon and normalized Wasserstein; Vertex AI Model Monitoring's for L-infinity"},
	{alerting.PolicyFile(alerting.DriftPolicyVertex), alerting.DriftPolicyVertex, drift.VertexPolicy(),
		"Vertex AI Model Monitoring's defaults for Jensen-Shannon and L-infinity"},
}

type doc struct {
	Content  string `json:"content"`
	MimeType string `json:"mimeType"`
}

type aggregation struct {
	AlignmentPeriod  string `json:"alignmentPeriod"`
	PerSeriesAligner string `json:"perSeriesAligner"`
}

type trigger struct {
	Count int `json:"count"`
}

type threshold struct {
	Filter         string        `json:"filter"`
	Aggregations   []aggregation `json:"aggregations"`
	Comparison     string        `json:"comparison"`
	ThresholdValue float64       `json:"thresholdValue"`
	Duration       string        `json:"duration"`
	Trigger        trigger       `json:"trigger"`
}

type condition struct {
	DisplayName        string    `json:"displayName"`
	ConditionThreshold threshold `json:"conditionThreshold"`
}

type policy struct {
	DisplayName   string            `json:"displayName"`
	Documentation doc               `json:"documentation"`
	UserLabels    map[string]string `json:"userLabels"`
	Conditions    []condition       `json:"conditions"`
	Combiner      string            `json:"combiner"`
	Enabled       bool              `json:"enabled"`
	Severity      string            `json:"severity"`
	AlertStrategy map[string]string `json:"alertStrategy"`
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func above(display, metric, method string, v float64) condition {
	filter := fmt.Sprintf("metric.type=%q AND resource.type=%q", metric, alerting.MonitoredResource)
	if method != "" {
		filter += fmt.Sprintf(" AND metric.label.method=%q", method)
	}
	return condition{DisplayName: display + " above " + num(v), ConditionThreshold: threshold{
		Filter:       filter,
		Aggregations: []aggregation{{AlignmentPeriod: "300s", PerSeriesAligner: "ALIGN_MAX"}},
		Comparison:   "COMPARISON_GT", ThresholdValue: v, Duration: "0s", Trigger: trigger{Count: 1},
	}}
}

// Generate returns the alert policies for one drift policy, as the file
// holds them.
func Generate(env string, p drift.Policy, origin string) ([]byte, error) {
	sel := fmt.Sprintf("the %s drift policy (MEGA_DRIFT_POLICY=%s)", env, env)
	ps := []policy{{
		DisplayName: "Megapipe: dataset drift",
		Documentation: doc{MimeType: "text/markdown", Content: fmt.Sprintf("More than %s%% of the features of a served model drifted in the last drift check "+
			"(%s > %s, the dataset drift share of %s). Open the latest drift report with `mega drift --model MODEL`; "+
			"consider retraining on recent data with `mega trigger ingest`.", num(100*p.DriftShare), alerting.MetricDriftDatasetShare, num(p.DriftShare), sel)},
		UserLabels:    map[string]string{"system": "megapipe", "signal": "dataset-drift"},
		Conditions:    []condition{above("drift/dataset_share", alerting.MetricDriftDatasetShare, "", p.DriftShare)},
		Combiner:      "OR",
		Enabled:       true,
		Severity:      "ERROR",
		AlertStrategy: map[string]string{"autoClose": "1800s"},
	}, {
		DisplayName: "Megapipe: feature drift",
		Documentation: doc{MimeType: "text/markdown", Content: fmt.Sprintf("A feature's drift statistic is above the threshold of %s: "+
			"population stability index above %s, Jensen-Shannon distance above %s, normalized Wasserstein distance above %s, "+
			"or L-infinity distance above %s (%s). The labels model, version, feature and method of the incident name the series. "+
			"Open the drift report with `mega drift --model MODEL`.", sel, num(p.PSI), num(p.JensenShannon), num(p.WassersteinNorm), num(p.LInfinity), origin)},
		UserLabels: map[string]string{"system": "megapipe", "signal": "feature-drift"},
		Conditions: []condition{
			above("PSI", alerting.MetricDriftStatistic, alerting.MethodPSI, p.PSI),
			above("Jensen-Shannon distance", alerting.MetricDriftStatistic, alerting.MethodJensenShannon, p.JensenShannon),
			above("Normalized Wasserstein distance", alerting.MetricDriftStatistic, alerting.MethodWasserstein, p.WassersteinNorm),
			above("L-infinity distance", alerting.MetricDriftStatistic, alerting.MethodLInf, p.LInfinity),
		},
		Combiner:      "OR",
		Enabled:       true,
		Severity:      "WARNING",
		AlertStrategy: map[string]string{"autoClose": "1800s"},
	}}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ps); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	for _, f := range Files {
		b, err := Generate(f.Env, f.Policy, f.Origin)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
