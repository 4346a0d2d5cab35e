package monitoring_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/megapipe/mega/emulators/monitoring"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/metrics"
)

// The local stack embeds the emulator: Megapipe's alert policies are
// installed at start, the code writes metrics through the real client, and
// a drifted dataset opens an incident, which `mega alerts` and the
// dashboard show.
func ExampleNewServer() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := monitoring.NewServer(monitoring.Options{
		Project: config.DefaultProject,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		// StateFile: filepath.Join(stateDir, "monitoring.json") keeps history across restarts
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	grpcLis, _ := net.Listen("tcp", "127.0.0.1:0") // MEGA_MONITORING_ENDPOINT
	httpLis, _ := net.Listen("tcp", "127.0.0.1:0") // MEGA_MONITORING_DASHBOARD (http://...)
	go srv.Serve(ctx, grpcLis, httpLis)

	m := metrics.New(config.Config{Project: config.DefaultProject, MonitoringEndpoint: grpcLis.Addr().String()})
	defer m.Close()
	_ = m.Write(ctx, metrics.Point{Metric: metrics.DriftDatasetShare, Value: 0.8,
		Labels: map[string]string{"model": "iris", "version": "3"}})
	srv.Evaluate(ctx) // also runs by itself after each write and every 10 s

	open, _ := monitoring.FetchIncidents(ctx, "http://"+httpLis.Addr().String(), monitoring.StateOpen)
	for _, in := range open {
		fmt.Printf("%s: %s (%s %g, threshold %g)\n", in.State, in.PolicyName, in.MetricLabels["model"], in.Observed, in.Threshold)
	}
	// Output: open: Megapipe: dataset drift (iris 0.8, threshold 0.5)
}
