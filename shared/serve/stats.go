package serve

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/megapipe/mega/shared/metrics"
)

// modelStats counts one model version's traffic between metric points.
type modelStats struct {
	model, version string
	requests       atomic.Int64
	latencyNanos   atomic.Int64
	dropped        atomic.Int64
}

func (s *Server) statsOf(m *Model) *modelStats {
	if v, ok := s.stats.Load(m); ok {
		return v.(*modelStats)
	}
	v, _ := s.stats.LoadOrStore(m, &modelStats{model: m.Name, version: m.Version})
	return v.(*modelStats)
}

func (s *Server) record(m *Model, _ int, d time.Duration) {
	st := s.statsOf(m)
	st.requests.Add(1)
	st.latencyNanos.Add(int64(d))
}

// MetricWriter writes metric points (package metrics' Client).
type MetricWriter interface {
	Write(ctx context.Context, points ...metrics.Point) error
}

// Points takes the serving metrics accumulated since the previous call:
// request count, mean latency in milliseconds and dropped log samples, per
// model version that saw traffic.
func (s *Server) Points(now time.Time) []metrics.Point {
	var out []metrics.Point
	s.stats.Range(func(_, v any) bool {
		st := v.(*modelStats)
		n := st.requests.Swap(0)
		lat := st.latencyNanos.Swap(0)
		drop := st.dropped.Swap(0)
		if n == 0 && drop == 0 {
			return true
		}
		labels := map[string]string{"model": st.model, "version": st.version}
		out = append(out, metrics.Point{Metric: metrics.ServingRequestCount, Labels: labels, Value: float64(n), Time: now})
		if n > 0 {
			out = append(out, metrics.Point{Metric: metrics.ServingLatency, Labels: labels, Value: float64(lat) / float64(n) / 1e6, Time: now})
		}
		out = append(out, metrics.Point{Metric: metrics.ServingDroppedSamples, Labels: labels, Value: float64(drop), Time: now})
		return true
	})
	return out
}

// ReportMetrics writes Points every interval until ctx ends.
func (s *Server) ReportMetrics(ctx context.Context, w MetricWriter, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if pts := s.Points(now); len(pts) > 0 {
				wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				if err := w.Write(wctx, pts...); err != nil {
					s.opts.Logger.Warn("writing serving metrics failed", "error", err)
				}
				cancel()
			}
		}
	}
}
