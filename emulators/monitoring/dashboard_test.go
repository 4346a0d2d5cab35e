package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/google/go-cmp/cmp"
)

// dashboardEnv is a server with two metrics, a policy, one closed and one
// open incident.
func dashboardEnv(t *testing.T) (*testEnv, time.Time) {
	t.Helper()
	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	env := startEnv(t, Options{Now: clock.Now, Notifier: &recordingNotifier{}})
	ctx := context.Background()
	createPolicy(t, env, thresholdPolicy("PSI above 0.2", `metric.type = "`+statType+`"`, monitoringpb.ComparisonType_COMPARISON_GT, 0.2, 0))
	shareType := "custom.googleapis.com/megapipe/drift/dataset_share"
	values := []float64{0.05, 0.3, 0.1, 0.05, 0.4, 0.45}
	for i, v := range values {
		now := t0.Add(time.Duration(i) * 5 * time.Minute)
		clock.Set(now)
		if err := write(ctx, env.metrics,
			doublePoint(statType, map[string]string{"model": "iris", "version": "3", "feature": "petal_length", "method": "psi"}, now, v),
			doublePoint(shareType, map[string]string{"model": "iris", "version": "3"}, now, v/2)); err != nil {
			t.Fatal(err)
		}
		env.srv.Evaluate(ctx)
	}
	return env, clock.Now()
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestAPIIncidentsAndTimeSeries(t *testing.T) {
	env, _ := dashboardEnv(t)
	var all, open IncidentList
	getJSON(t, env.httpURL+"/api/incidents", &all)
	getJSON(t, env.httpURL+"/api/incidents?state=open", &open)
	var states []string
	for _, in := range all.Incidents {
		states = append(states, in.State)
	}
	// 0.3 opened, 0.1 closed; 0.4 opened again (newest first)
	if diff := cmp.Diff([]string{StateOpen, StateClosed}, states); diff != "" {
		t.Errorf("incident states (-want +got):\n%s", diff)
	}
	if len(open.Incidents) != 1 || open.Incidents[0].Observed != 0.45 || open.Incidents[0].Threshold != 0.2 {
		t.Errorf("open incidents = %+v", open.Incidents)
	}
	var ts TimeSeriesList
	getJSON(t, env.httpURL+"/api/timeseries?metric.type="+statType+"&window=1h", &ts)
	if len(ts.TimeSeries) != 1 {
		t.Fatalf("time series = %d, want 1", len(ts.TimeSeries))
	}
	var vals []float64
	for _, p := range ts.TimeSeries[0].Points {
		vals = append(vals, p.Value)
	}
	if diff := cmp.Diff([]float64{0.05, 0.3, 0.1, 0.05, 0.4, 0.45}, vals); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"/api/incidents?state=maybe", "/api/timeseries?window=-1h", "/api/timeseries?filter=metric.type%20OR"} {
		resp, err := http.Get(env.httpURL + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %s, want 400", bad, resp.Status)
		}
	}
}

func TestDashboardHTML(t *testing.T) {
	env, _ := dashboardEnv(t)
	resp, err := http.Get(env.httpURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		`data-metric="custom.googleapis.com/megapipe/drift/statistic"`,
		`data-metric="custom.googleapis.com/megapipe/drift/dataset_share"`,
		`<polyline class="series"`,
		`class="threshold"`,
		`PSI above 0.2: &gt; 0.2`,
		`Open incidents (1)`,
		`Closed incidents (1)`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "ZgotmplZ") {
		t.Errorf("dashboard has a script or an escaped-away value")
	}
	// The threshold line of 0.2 lies between the lines of the points 0.1 and 0.3.
	y := func(re string) float64 {
		m := regexp.MustCompile(re).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no match for %s", re)
		}
		var v float64
		fmt.Sscan(m[1], &v)
		return v
	}
	thY := y(`<line class="threshold" x1="\d+" y1="([\d.]+)"`)
	ptY := regexp.MustCompile(`<polyline class="series" stroke="[^"]+" points="([^"]+)"`).FindStringSubmatch(page)
	if ptY == nil {
		t.Fatal("no polyline")
	}
	pts := strings.Fields(ptY[1])
	var ys []float64
	for _, p := range pts[:3] { // 0.05, 0.3, 0.1
		var x, yv float64
		fmt.Sscanf(p, "%f,%f", &x, &yv)
		ys = append(ys, yv)
	}
	if !(ys[1] < thY && thY < ys[2] && ys[2] < ys[0]) { // SVG y grows downwards
		t.Errorf("threshold y %v not between the points' y %v", thY, ys)
	}
}

// chromium returns the headless Chromium binary, or skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("MEGA_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not found: install Debian's chromium (apt-get install -y chromium) or set MEGA_CHROMIUM")
	return ""
}

var consoleLine = regexp.MustCompile(`:CONSOLE[:(]\d*\)?\]? (.*)`)

// headless loads url in headless Chromium and returns the DOM after load and
// the console messages.
func headless(t *testing.T, bin, url string, extra ...string) (dom string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0"}, extra...)
	args = append(args, "--dump-dom", url)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	for _, line := range strings.Split(errb.String(), "\n") {
		if m := consoleLine.FindStringSubmatch(line); m != nil {
			console = append(console, m[1])
		}
	}
	return out.String(), console
}

// TestHeadlessChromiumDetectsConsoleErrors shows the console check can fail:
// a page with a script error is caught.
func TestHeadlessChromiumDetectsConsoleErrors(t *testing.T) {
	bin := chromium(t)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction();</script></body></html>`)
	}))
	defer bad.Close()
	_, console := headless(t, bin, bad.URL)
	if len(console) == 0 || !strings.Contains(strings.Join(console, "\n"), "undefinedFunction is not defined") {
		t.Errorf("console = %q, want the ReferenceError", console)
	}
}

func TestDashboardInHeadlessChromium(t *testing.T) {
	bin := chromium(t)
	tests := []struct {
		name      string
		env       func(*testing.T) (*testEnv, time.Time)
		want      []string
		polylines int
	}{
		{"charts per metric", dashboardEnv, []string{
			`<figure class="chart" id="chart-0" data-metric="custom.googleapis.com/megapipe/drift/dataset_share">`,
			`<figure class="chart" id="chart-1" data-metric="custom.googleapis.com/megapipe/drift/statistic">`,
			`<svg xmlns="http://www.w3.org/2000/svg"`, `<polyline class="series"`, `<line class="threshold"`,
			`<tr class="open"`, `<tr class="closed"`}, 2},
		{"shared-alerting dashboard", defaultDashboardEnv, []string{
			`<figcaption>PSI (alert above 0.2)</figcaption>`, `<figcaption>Serving latency</figcaption>`,
			`<svg xmlns="http://www.w3.org/2000/svg"`, `<line class="threshold"`, `<tr class="open"`}, 3}, // PSI of 2 features and the dataset share
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := tt.env(t)
			dom, console := headless(t, bin, env.httpURL+"/")
			if len(console) > 0 {
				t.Errorf("console messages on the dashboard:\n%s", strings.Join(console, "\n"))
			}
			for _, want := range tt.want {
				if !strings.Contains(dom, want) {
					t.Errorf("rendered DOM lacks %q", want)
				}
			}
			if n := strings.Count(dom, "<polyline"); n != tt.polylines {
				t.Errorf("rendered DOM has %d polylines, want %d", n, tt.polylines)
			}
			if dir := os.Getenv("MEGA_SCREENSHOT_DIR"); dir != "" { // for people: a picture of the page
				shot := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".png")
				headless(t, bin, env.httpURL+"/", "--window-size=1600,2400", "--screenshot="+shot, "--hide-scrollbars")
				t.Logf("screenshot: %s", shot)
			}
		})
	}
}
