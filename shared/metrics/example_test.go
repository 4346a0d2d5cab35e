package metrics_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	emulator "github.com/megapipe/mega/emulators/monitoring"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/metrics"
)

// The drift check writes one statistic per feature and method, and the
// dataset share, after each check. Here against the local emulator; in the
// cloud MEGA_MONITORING_ENDPOINT is empty and the same code writes to Cloud
// Monitoring.
func ExampleClient_Write() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, _ := emulator.NewServer(emulator.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ctx, lis, nil)

	cfg := config.Config{Project: "megapipe-local", MonitoringEndpoint: lis.Addr().String()}
	m := metrics.New(cfg) // no I/O until the first call
	defer m.Close()
	now := time.Now()
	err := m.Write(ctx,
		metrics.Point{Metric: metrics.DriftStatistic, Value: 0.31, Time: now,
			Labels: map[string]string{"model": "iris", "version": "3", "feature": "petal_length", "method": "psi"}},
		metrics.Point{Metric: metrics.DriftDatasetShare, Value: 0.25, Time: now,
			Labels: map[string]string{"model": "iris", "version": "3"}},
	)
	fmt.Println("write:", err, "pending:", m.Pending())
	// Output: write: <nil> pending: 0
}
