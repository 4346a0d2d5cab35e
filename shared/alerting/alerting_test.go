package alerting

import (
	"errors"
	"regexp"
	"testing"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/google/go-cmp/cmp"
)

// condition is what matters of a threshold condition.
type condition struct {
	Policy     string
	Metric     string
	Method     string
	Comparison string
	Threshold  float64
}

var (
	metricRe = regexp.MustCompile(`metric\.type="([^"]+)"`)
	methodRe = regexp.MustCompile(`metric\.label\.method="([^"]+)"`)
	resRe    = regexp.MustCompile(`resource\.type="([^"]+)"`)
)

func submatch(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

func TestPolicies(t *testing.T) {
	ps, err := Policies()
	if err != nil {
		t.Fatal(err)
	}
	// The thresholds are the published defaults named in issue 6: Evidently's
	// DataDriftPreset (dataset drift at 50% of columns; 0.1 for normalized
	// Wasserstein and Jensen-Shannon), the usual PSI rule of 0.2, and Vertex
	// AI Model Monitoring's 0.3 for L-infinity.
	want := []condition{
		{"Megapipe: dataset drift", MetricDriftDatasetShare, "", "COMPARISON_GT", 0.5},
		{"Megapipe: feature drift", MetricDriftStatistic, MethodPSI, "COMPARISON_GT", 0.2},
		{"Megapipe: feature drift", MetricDriftStatistic, MethodJensenShannon, "COMPARISON_GT", 0.1},
		{"Megapipe: feature drift", MetricDriftStatistic, MethodWasserstein, "COMPARISON_GT", 0.1},
		{"Megapipe: feature drift", MetricDriftStatistic, MethodLInf, "COMPARISON_GT", 0.3},
	}
	var got []condition
	for _, p := range ps {
		if !p.GetEnabled().GetValue() {
			t.Errorf("policy %q is not enabled", p.GetDisplayName())
		}
		for _, c := range p.GetConditions() {
			th := c.GetConditionThreshold()
			if r := submatch(resRe, th.GetFilter()); r != MonitoredResource {
				t.Errorf("condition %q: resource type %q, want %q", c.GetDisplayName(), r, MonitoredResource)
			}
			got = append(got, condition{
				Policy:     p.GetDisplayName(),
				Metric:     submatch(metricRe, th.GetFilter()),
				Method:     submatch(methodRe, th.GetFilter()),
				Comparison: th.GetComparison().String(),
				Threshold:  th.GetThresholdValue(),
			})
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	var severities []string
	for _, p := range ps {
		severities = append(severities, p.GetSeverity().String())
	}
	if diff := cmp.Diff([]string{"ERROR", "WARNING"}, severities); diff != "" {
		t.Errorf("severities (-want +got):\n%s", diff)
	}
}

func TestDashboard(t *testing.T) {
	d, err := Dashboard()
	if err != nil {
		t.Fatal(err)
	}
	ml := d.GetMosaicLayout()
	if ml == nil || ml.GetColumns() < 1 || ml.GetColumns() > 48 {
		t.Fatalf("want a mosaic layout of 1 to 48 columns, got %v", ml)
	}
	// Thresholds drawn on charts must be those of the policies.
	policyThreshold := map[string]float64{}
	ps, err := Policies()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		for _, c := range p.GetConditions() {
			f := c.GetConditionThreshold().GetFilter()
			policyThreshold[submatch(metricRe, f)+"/"+submatch(methodRe, f)] = c.GetConditionThreshold().GetThresholdValue()
		}
	}
	known := map[string]bool{MetricDriftStatistic: true, MetricDriftDatasetShare: true, MetricDriftDrifted: true,
		MetricServingRequestCount: true, MetricServingLatency: true, MetricServingDropped: true}
	charted := map[string]bool{}
	occupied := map[[2]int32]string{}
	for _, tile := range ml.GetTiles() {
		title := tile.GetWidget().GetTitle()
		if tile.GetXPos()+tile.GetWidth() > ml.GetColumns() || tile.GetWidth() < 1 || tile.GetHeight() < 1 {
			t.Errorf("tile %q does not fit the grid", title)
		}
		for x := tile.GetXPos(); x < tile.GetXPos()+tile.GetWidth(); x++ {
			for y := tile.GetYPos(); y < tile.GetYPos()+tile.GetHeight(); y++ {
				if other, ok := occupied[[2]int32{x, y}]; ok {
					t.Fatalf("tiles %q and %q overlap at (%d,%d)", other, title, x, y)
				}
				occupied[[2]int32{x, y}] = title
			}
		}
		xy := tile.GetWidget().GetXyChart()
		if xy == nil {
			continue
		}
		for _, ds := range xy.GetDataSets() {
			f := ds.GetTimeSeriesQuery().GetTimeSeriesFilter().GetFilter()
			m := submatch(metricRe, f)
			if !known[m] {
				t.Errorf("chart %q reads unknown metric %q", title, m)
			}
			charted[m] = true
			for _, th := range xy.GetThresholds() {
				key := m + "/" + submatch(methodRe, f)
				if want, ok := policyThreshold[key]; !ok || want != th.GetValue() {
					t.Errorf("chart %q draws threshold %v; the policy on %s has %v (found %v)", title, th.GetValue(), key, want, ok)
				}
			}
		}
	}
	for m := range known {
		if !charted[m] {
			t.Errorf("metric %s has no chart", m)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{"not an array", `{"displayName":"x"}`},
		{"misspelled field", `[{"displayName":"x","combiner":"OR","conditionz":[]}]`},
		{"no combiner", `[{"displayName":"x","conditions":[{"displayName":"c","conditionThreshold":{"filter":"f","comparison":"COMPARISON_GT","duration":"0s"}}]}]`},
		{"no conditions", `[{"displayName":"x","combiner":"OR"}]`},
		{"no comparison", `[{"displayName":"x","combiner":"OR","conditions":[{"displayName":"c","conditionThreshold":{"filter":"f","duration":"0s"}}]}]`},
		{"absent condition", `[{"displayName":"x","combiner":"OR","conditions":[{"displayName":"c","conditionAbsent":{"filter":"f","duration":"60s"}}]}]`},
		{"bad enum", `[{"displayName":"x","combiner":"SOMETIMES","conditions":[]}]`},
		{"channels set", `[{"displayName":"x","combiner":"OR","notificationChannels":["projects/p/notificationChannels/1"],"conditions":[{"displayName":"c","conditionThreshold":{"filter":"f","comparison":"COMPARISON_GT","duration":"0s"}}]}]`},
		{"duplicate", `[{"displayName":"x","combiner":"OR","conditions":[{"displayName":"c","conditionThreshold":{"filter":"f","comparison":"COMPARISON_GT","duration":"0s"}}]},{"displayName":"x","combiner":"OR","conditions":[{"displayName":"c","conditionThreshold":{"filter":"f","comparison":"COMPARISON_GT","duration":"0s"}}]}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicies([]byte(tt.json))
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParsePolicies: got %v, want an error wrapping ErrInvalid", err)
			}
		})
	}
	if _, err := ParseDashboard([]byte(`{"displayName":"d","mosaicLayout":{"colums":12}}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseDashboard with a misspelled field: got %v, want ErrInvalid", err)
	}
	if _, err := ParseDashboard([]byte(`{"mosaicLayout":{}}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseDashboard without displayName: got %v, want ErrInvalid", err)
	}
}

func TestJSONCopies(t *testing.T) {
	a := PoliciesJSON()
	a[0] = 'x'
	if PoliciesJSON()[0] != '[' {
		t.Error("PoliciesJSON returned the embedded slice itself")
	}
	if _, err := ParseDashboard(DashboardJSON()); err != nil {
		t.Error(err)
	}
}

func FuzzParsePolicies(f *testing.F) {
	f.Add(policiesJSON)
	f.Add([]byte(`[{"displayName":"x","combiner":"OR"}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParsePolicies(data)
		if err == nil {
			for _, p := range ps {
				if len(p.GetConditions()) == 0 || p.GetCombiner() == monitoringpb.AlertPolicy_COMBINE_UNSPECIFIED {
					t.Fatalf("accepted an incomplete policy %v", p)
				}
			}
		}
	})
}

func FuzzParseDashboard(f *testing.F) {
	f.Add(dashboardJSON)
	f.Add([]byte(`{"displayName":"d"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, err := ParseDashboard(data); err == nil && d.GetDisplayName() == "" {
			t.Fatal("accepted a dashboard without a display name")
		}
	})
}
