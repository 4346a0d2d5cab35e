package monitoring

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/metrics"
)

// TestDriftAlertEndToEnd is the local alerting path as the stack runs it:
// shared/metrics writes the dataset drift share through the real client,
// shared/alerting's policy (dataset_share > 0.5, ALIGN_MAX over 300 s)
// opens an incident on the write, the notification reaches the drift-alerts
// topic on a Pub/Sub fake, and the incident closes five minutes later when
// the share is back to normal.
func TestDriftAlertEndToEnd(t *testing.T) {
	ps := pstest.NewServer()
	t.Cleanup(func() { ps.Close() })
	t.Setenv("PUBSUB_EMULATOR_HOST", ps.Addr)
	ctx := context.Background()
	conn, err := grpc.NewClient(ps.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	pc, err := pubsub.NewClient(ctx, config.DefaultProject, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/" + config.DefaultProject + "/topics/" + config.TopicDriftAlerts}); err != nil {
		t.Fatal(err)
	}

	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	// the defaults of the local stack: shared/alerting's policies, evaluation on write
	env := startEnvWith(t, Options{Now: clock.Now, EvalInterval: time.Hour})
	m := metrics.New(config.Config{Project: config.DefaultProject, MonitoringEndpoint: env.grpcAddr})
	t.Cleanup(func() { m.Close() })

	var got []string
	wait := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if msgs := ps.Messages(); len(msgs) >= n {
				got = got[:0]
				for _, msg := range msgs {
					var n Notification
					if err := json.Unmarshal(msg.Data, &n); err != nil {
						t.Fatal(err)
					}
					got = append(got, n.Incident.PolicyName+" "+n.Incident.State+" "+n.Incident.ObservedValue)
				}
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%d notifications within 10 s, want %d", len(ps.Messages()), n)
	}
	share := func(at time.Time, v float64) {
		t.Helper()
		clock.Set(at)
		if err := m.Write(ctx, metrics.Point{Metric: metrics.DriftDatasetShare, Value: v, Time: at,
			Labels: map[string]string{"model": "iris", "version": "3"}}); err != nil {
			t.Fatal(err)
		}
	}
	share(t0, 0.1)
	share(t0.Add(5*time.Minute), 0.7)
	wait(1)
	if open := env.srv.Incidents(StateOpen); len(open) != 1 || open[0].PolicyName != "Megapipe: dataset drift" {
		t.Fatalf("open incidents = %+v", open)
	}
	share(t0.Add(10*time.Minute), 0.1)
	wait(2)
	want := []string{"Megapipe: dataset drift open 0.7", "Megapipe: dataset drift closed 0.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notifications on drift-alerts (-want +got):\n%s", diff)
	}
	if n := len(env.srv.Incidents(StateOpen)); n != 0 {
		t.Errorf("%d incidents still open", n)
	}
}
