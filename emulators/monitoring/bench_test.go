package monitoring

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"

	"github.com/megapipe/mega/shared/alerting"
	"github.com/megapipe/mega/shared/config"
)

// loadedServer holds a week of drift history: 4 models x 30 features x 4
// methods, one point each 5 minutes (480 series, 967,680 points), with
// Megapipe's default policies.
func loadedServer(b *testing.B) (*Server, time.Time) {
	b.Helper()
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	end := t0.Add(7 * 24 * time.Hour)
	s, err := NewServer(Options{Now: func() time.Time { return end }, Logger: quietLogger(), Notifier: &recordingNotifier{}, EvalInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	for m := 0; m < 4; m++ {
		for f := 0; f < 30; f++ {
			for _, method := range []string{"psi", "jensen_shannon", "wasserstein", "linf"} {
				ser := &series{project: config.DefaultProject, kind: metricpb.MetricDescriptor_GAUGE, valueType: metricpb.MetricDescriptor_DOUBLE,
					metric: &metricpb.Metric{Type: alerting.MetricDriftStatistic, Labels: map[string]string{
						"model": fmt.Sprint("m", m), "version": "1", "feature": fmt.Sprint("f", f), "method": method}},
					resource: &monitoredres.MonitoredResource{Type: "global", Labels: map[string]string{"project_id": config.DefaultProject}}}
				for t := t0.Add(5 * time.Minute); !t.After(end); t = t.Add(5 * time.Minute) {
					ser.points = append(ser.points, sample{start: t, end: t, value: float64(f%7) / 20})
				}
				s.series[seriesKey(ser.project, ser.metric, ser.resource)] = ser
			}
		}
	}
	return s, end
}

func BenchmarkEvaluate(b *testing.B) {
	s, _ := loadedServer(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Evaluate(ctx)
	}
	b.ReportMetric(float64(len(s.Incidents(StateOpen))), "open_incidents")
}

func BenchmarkQueryWeekByHour(b *testing.B) {
	s, end := loadedServer(b)
	f, _ := ParseFilter(`metric.type = "` + alerting.MetricDriftStatistic + `" AND metric.label.method = "psi"`)
	g := aggregation{period: time.Hour, aligner: monitoringpb.Aggregation_ALIGN_MEAN}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if out := s.query(config.DefaultProject, f, end.Add(-7*24*time.Hour), end, g); len(out) != 120 {
			b.Fatalf("%d series", len(out))
		}
	}
}

func BenchmarkSaveWeek(b *testing.B) {
	s, _ := loadedServer(b)
	s.opts.StateFile = b.TempDir() + "/monitoring.json"
	for i := 0; i < b.N; i++ {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
	if fi, err := os.Stat(s.opts.StateFile); err == nil {
		b.ReportMetric(float64(fi.Size())/1e6, "MB_file")
	}
}
