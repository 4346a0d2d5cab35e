package monitoring

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/alerting"
)

func policyNames(t *testing.T, env *testEnv) map[string]string {
	t.Helper()
	out := map[string]string{}
	it := env.alerts.ListAlertPolicies(context.Background(), &monitoringpb.ListAlertPoliciesRequest{Name: "projects/" + testProject})
	for {
		p, err := it.Next()
		if err != nil {
			return out
		}
		out[p.GetDisplayName()] = p.GetName() + " " + strings.Join(p.GetNotificationChannels(), ",")
	}
}

// TestDefaultPoliciesInstalled: the emulator loads shared/alerting's
// policies with a Pub/Sub channel on drift-alerts, and a restart on the same
// state file updates them in place.
func TestDefaultPoliciesInstalled(t *testing.T) {
	state := filepath.Join(t.TempDir(), "monitoring.json")
	defs, err := alerting.Policies()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range defs {
		want = append(want, p.GetDisplayName())
	}
	sort.Strings(want)

	env := startEnvWith(t, Options{Project: testProject, StateFile: state, Notifier: &recordingNotifier{}})
	first := policyNames(t, env)
	got := make([]string, 0, len(first))
	for n := range first {
		got = append(got, n)
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("installed policies (-alerting +emulator):\n%s", diff)
	}
	var channel string
	it := env.channels.ListNotificationChannels(context.Background(), &monitoringpb.ListNotificationChannelsRequest{Name: "projects/" + testProject})
	if ch, err := it.Next(); err != nil || ch.GetType() != "pubsub" || ch.GetLabels()["topic"] != "projects/"+testProject+"/topics/drift-alerts" {
		t.Fatalf("channel = %v, %v", ch, err)
	} else {
		channel = ch.GetName()
	}
	for n, v := range first {
		if !strings.HasSuffix(v, " "+channel) {
			t.Errorf("policy %q: channels %q, want %s", n, v, channel)
		}
	}
	if err := env.srv.Save(); err != nil {
		t.Fatal(err)
	}
	env2 := startEnvWith(t, Options{Project: testProject, StateFile: state, Notifier: &recordingNotifier{}})
	if diff := cmp.Diff(first, policyNames(t, env2)); diff != "" {
		t.Errorf("after restart (-first +second):\n%s", diff)
	}
}

// TestDefaultDashboardTiles: the page draws the tiles of shared/alerting's
// dashboard with their thresholds.
func TestDefaultDashboardTiles(t *testing.T) {
	env, _ := defaultDashboardEnv(t)
	resp, err := http.Get(env.httpURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	for _, want := range []string{
		"<figcaption>PSI (alert above 0.2)</figcaption>",
		"<figcaption>Dataset drift share (alert above 0.5)</figcaption>",
		"Megapipe: feature drift: &gt; 0.2", // the policy's PSI condition drawn on the PSI tile
		`<tr class="open"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	psi := page[strings.Index(page, "<figcaption>PSI (alert above 0.2)"):]
	psi = psi[:strings.Index(psi, "</figure>")]
	if !strings.Contains(psi, "<polyline") {
		t.Errorf("PSI tile has no series:\n%s", psi)
	}
}

// defaultDashboardEnv: the default policies and dashboard, with PSI data
// that crosses 0.2 (an open incident).
func defaultDashboardEnv(t *testing.T) (*testEnv, time.Time) {
	t.Helper()
	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	env := startEnvWith(t, Options{Project: testProject, Now: clock.Now, Notifier: &recordingNotifier{}, EvalInterval: -1})
	ctx := context.Background()
	for i, v := range []float64{0.05, 0.08, 0.12, 0.35, 0.4} {
		now := t0.Add(time.Duration(i) * 5 * time.Minute)
		clock.Set(now)
		var ts []*monitoringpb.TimeSeries
		for _, f := range []string{"sepal_length", "petal_length"} {
			ts = append(ts, doublePoint(alerting.MetricDriftStatistic, map[string]string{"model": "iris", "version": "3", "feature": f, "method": "psi"}, now, v))
		}
		ts = append(ts, doublePoint(alerting.MetricDriftDatasetShare, map[string]string{"model": "iris", "version": "3"}, now, v))
		if err := write(ctx, env.metrics, ts...); err != nil {
			t.Fatal(err)
		}
		env.srv.Evaluate(ctx)
	}
	return env, clock.Now()
}
