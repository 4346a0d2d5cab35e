package monitoring

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
)

// TestStateRoundTrip: what one server saved, the next one serves.
func TestStateRoundTrip(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state", "monitoring.json")
	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	env := startEnv(t, Options{StateFile: state, Now: clock.Now, Notifier: &recordingNotifier{}})
	ctx := context.Background()
	ch := createPubSubChannel(t, env, "drift-alerts")
	p := createPolicy(t, env, thresholdPolicy("psi", `metric.type = "`+statType+`"`, monitoringpb.ComparisonType_COMPARISON_GT, 0.2, 0, ch))
	for i, v := range []float64{0.1, 0.5, 0.1, 0.6} {
		clock.Set(t0.Add(time.Duration(i) * time.Minute))
		if err := write(ctx, env.metrics, doublePoint(statType, map[string]string{"model": "a", "version": "1", "feature": "f", "method": "psi"}, clock.Now(), v)); err != nil {
			t.Fatal(err)
		}
		env.srv.Evaluate(ctx)
	}
	if err := env.srv.Save(); err != nil {
		t.Fatalf("Save: %v", err)
	}
	env2 := startEnv(t, Options{StateFile: state, Now: clock.Now, Notifier: &recordingNotifier{}})
	if diff := cmp.Diff(env.srv.Incidents(""), env2.srv.Incidents("")); diff != "" {
		t.Errorf("incidents after reload (-saved +loaded):\n%s", diff)
	}
	f := `metric.type = "` + statType + `"`
	if diff := cmp.Diff(listRaw(t, env, f, t0.Add(-time.Hour), t0.Add(time.Hour)), listRaw(t, env2, f, t0.Add(-time.Hour), t0.Add(time.Hour))); diff != "" {
		t.Errorf("points after reload (-saved +loaded):\n%s", diff)
	}
	got, err := env2.alerts.GetAlertPolicy(ctx, &monitoringpb.GetAlertPolicyRequest{Name: p.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got, protocmp.Transform()); diff != "" {
		t.Errorf("policy after reload (-saved +loaded):\n%s", diff)
	}
	// The reloaded server continues: 5 s spacing still enforced, ids do not collide.
	err = write(ctx, env2.metrics, doublePoint(statType, map[string]string{"model": "a", "version": "1", "feature": "f", "method": "psi"}, clock.Now().Add(time.Second), 0.1))
	if err == nil || !strings.Contains(err.Error(), "more frequently") {
		t.Errorf("write 1 s after the last saved point: %v, want the sampling-period error", err)
	}
	p2 := createPolicy(t, env2, thresholdPolicy("other", f, monitoringpb.ComparisonType_COMPARISON_GT, 1, 0))
	if p2.GetName() == p.GetName() {
		t.Errorf("new policy reused the name %s", p.GetName())
	}
}

func TestCorruptState(t *testing.T) {
	for name, data := range map[string]string{
		"not json":       `{"version": 2, `,
		"wrong version":  `{"version": 99}`,
		"bad descriptor": `{"version": 2, "metric_descriptors": [{"type": 5}]}`,
		"bad policy":     `{"version": 2, "alert_policies": [{"displayName": ["x"]}]}`,
		"points out of order": `{"version": 2, "time_series": [{"project": "p", "metric": {"type": "custom.googleapis.com/x"}, "resource": {"type": "global"},
			"points": [[1764216010000000, 1], [1764216005000000, 2]]}]}`,
		"point with 4 fields": `{"version": 2, "time_series": [{"project": "p", "metric": {"type": "custom.googleapis.com/x"}, "resource": {"type": "global"},
			"points": [[1764216010000000, 1, 1764216010000000, 4]]}]}`,
		"fractional time": `{"version": 2, "time_series": [{"project": "p", "metric": {"type": "custom.googleapis.com/x"}, "resource": {"type": "global"},
			"points": [[1764216010000000.5, 1]]}]}`,
		"bad incident state": `{"version": 2, "incidents": [{"state": "maybe"}]}`,
		"null incident":      `{"version": 2, "incidents": [null]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "monitoring.json")
			if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := NewServer(Options{StateFile: path, Empty: true, Logger: quietLogger()}); err == nil || !strings.HasPrefix(err.Error(), "monitoring: load state: ") {
				t.Errorf("NewServer = %v, want a load state error", err)
			}
		})
	}
	// A missing file is an empty state.
	if _, err := NewServer(Options{StateFile: filepath.Join(t.TempDir(), "absent.json"), Empty: true, Logger: quietLogger()}); err != nil {
		t.Errorf("missing state file: %v", err)
	}
}

func FuzzRestore(f *testing.F) {
	f.Add([]byte(`{"version": 2, "metric_descriptors": [{"name": "projects/p/metricDescriptors/custom.googleapis.com/x", "type": "custom.googleapis.com/x", "metricKind": "GAUGE", "valueType": "DOUBLE"}],
		"time_series": [{"project": "p", "metric": {"type": "custom.googleapis.com/x", "labels": {"a": "b"}}, "resource": {"type": "global"}, "metric_kind": "GAUGE", "value_type": "DOUBLE",
		"points": [[1764216000000000, 1], [1764216300000000, 0.5, 1764216000000000]]}],
		"alert_policies": [{"name": "projects/p/alertPolicies/1", "displayName": "x", "conditions": [{"name": "projects/p/alertPolicies/1/conditions/2", "displayName": "c",
		"conditionThreshold": {"filter": "metric.type = \"custom.googleapis.com/x\"", "comparison": "COMPARISON_GT", "thresholdValue": 0.5}}]}],
		"incidents": [{"incident_id": "0.a", "state": "open", "policy": "projects/p/alertPolicies/1", "condition": "projects/p/alertPolicies/1/conditions/2"}], "next_id": 7}`))
	f.Add([]byte(`{"version": 2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := NewServer(Options{Empty: true, Logger: quietLogger(), Notifier: &recordingNotifier{}, EvalInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.restore(data); err != nil {
			return
		}
		// A restored state must be usable: evaluate and render.
		s.Evaluate(context.Background())
		s.Incidents("")
	})
}
