package monitoring

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

const statType = "custom.googleapis.com/megapipe/drift/statistic"

func thresholdPolicy(name string, filter string, cmpType monitoringpb.ComparisonType, value float64, duration time.Duration, channels ...string) *monitoringpb.AlertPolicy {
	return &monitoringpb.AlertPolicy{
		DisplayName: name,
		Combiner:    monitoringpb.AlertPolicy_OR,
		Conditions: []*monitoringpb.AlertPolicy_Condition{{
			DisplayName: name + " condition",
			Condition: &monitoringpb.AlertPolicy_Condition_ConditionThreshold{ConditionThreshold: &monitoringpb.AlertPolicy_Condition_MetricThreshold{
				Filter:         filter,
				Comparison:     cmpType,
				ThresholdValue: value,
				Duration:       durationpb.New(duration),
				Aggregations: []*monitoringpb.Aggregation{{AlignmentPeriod: durationpb.New(time.Minute),
					PerSeriesAligner: monitoringpb.Aggregation_ALIGN_MAX}},
			}},
		}},
		NotificationChannels: channels,
		Documentation:        &monitoringpb.AlertPolicy_Documentation{Content: "Drift: see mega drift.", MimeType: "text/markdown"},
	}
}

func createPubSubChannel(t *testing.T, env *testEnv, topic string) string {
	t.Helper()
	ch, err := env.channels.CreateNotificationChannel(context.Background(), &monitoringpb.CreateNotificationChannelRequest{
		Name: "projects/" + testProject,
		NotificationChannel: &monitoringpb.NotificationChannel{Type: "pubsub", DisplayName: "drift alerts",
			Labels: map[string]string{"topic": "projects/" + testProject + "/topics/" + topic}},
	})
	if err != nil {
		t.Fatalf("create channel: %v", err)
	}
	return ch.GetName()
}

func createPolicy(t *testing.T, env *testEnv, p *monitoringpb.AlertPolicy) *monitoringpb.AlertPolicy {
	t.Helper()
	got, err := env.alerts.CreateAlertPolicy(context.Background(), &monitoringpb.CreateAlertPolicyRequest{Name: "projects/" + testProject, AlertPolicy: p})
	if err != nil {
		t.Fatalf("create policy %s: %v", p.GetDisplayName(), err)
	}
	return got
}

func TestAlertPolicyCRUD(t *testing.T) {
	env := startEnv(t, Options{})
	ctx := context.Background()
	ch := createPubSubChannel(t, env, "drift-alerts")
	filter := `metric.type = "` + statType + `" AND metric.label.method = "psi"`
	p := createPolicy(t, env, thresholdPolicy("PSI high", filter, monitoringpb.ComparisonType_COMPARISON_GT, 0.2, 0, ch))
	if !strings.HasPrefix(p.GetName(), "projects/"+testProject+"/alertPolicies/") || !strings.HasPrefix(p.GetConditions()[0].GetName(), p.GetName()+"/conditions/") {
		t.Errorf("names: policy %q condition %q", p.GetName(), p.GetConditions()[0].GetName())
	}
	if !p.GetEnabled().GetValue() || p.GetCreationRecord() == nil {
		t.Errorf("enabled %v, creation record %v", p.GetEnabled(), p.GetCreationRecord())
	}
	got, err := env.alerts.GetAlertPolicy(ctx, &monitoringpb.GetAlertPolicyRequest{Name: p.GetName()})
	if err != nil || got.GetDisplayName() != "PSI high" {
		t.Fatalf("get: %v %v", got, err)
	}
	upd := &monitoringpb.AlertPolicy{Name: p.GetName(), DisplayName: "PSI very high"}
	got, err = env.alerts.UpdateAlertPolicy(ctx, &monitoringpb.UpdateAlertPolicyRequest{AlertPolicy: upd,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if got.GetDisplayName() != "PSI very high" || got.GetConditions()[0].GetConditionThreshold().GetThresholdValue() != 0.2 {
		t.Errorf("update changed the wrong fields: %v", got)
	}
	var names []string
	it := env.alerts.ListAlertPolicies(ctx, &monitoringpb.ListAlertPoliciesRequest{Name: "projects/" + testProject})
	for {
		lp, err := it.Next()
		if err != nil {
			break
		}
		names = append(names, lp.GetDisplayName())
	}
	if diff := cmp.Diff([]string{"PSI very high"}, names); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	// a channel in use cannot be deleted without force
	if err := env.channels.DeleteNotificationChannel(ctx, &monitoringpb.DeleteNotificationChannelRequest{Name: ch}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("delete channel in use: %v, want FailedPrecondition", err)
	}
	bad := map[string]*monitoringpb.AlertPolicy{
		"no conditions":   {DisplayName: "x"},
		"bad filter":      thresholdPolicy("x", `metric.type = "a" OR metric.type = "b"`, monitoringpb.ComparisonType_COMPARISON_GT, 1, 0),
		"no comparison":   thresholdPolicy("x", filter, monitoringpb.ComparisonType_COMPARISON_UNSPECIFIED, 1, 0),
		"unknown channel": thresholdPolicy("x", filter, monitoringpb.ComparisonType_COMPARISON_GT, 1, 0, "projects/"+testProject+"/notificationChannels/404"),
	}
	for name, bp := range bad {
		_, err := env.alerts.CreateAlertPolicy(ctx, &monitoringpb.CreateAlertPolicyRequest{Name: "projects/" + testProject, AlertPolicy: bp})
		if code := status.Code(err); code != codes.InvalidArgument && code != codes.NotFound {
			t.Errorf("%s: %v, want InvalidArgument or NotFound", name, err)
		}
	}
	if err := env.alerts.DeleteAlertPolicy(ctx, &monitoringpb.DeleteAlertPolicyRequest{Name: p.GetName()}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := env.alerts.GetAlertPolicy(ctx, &monitoringpb.GetAlertPolicyRequest{Name: p.GetName()}); status.Code(err) != codes.NotFound {
		t.Errorf("get after delete: %v, want NotFound", err)
	}
	if err := env.channels.DeleteNotificationChannel(ctx, &monitoringpb.DeleteNotificationChannelRequest{Name: ch}); err != nil {
		t.Errorf("delete unused channel: %v", err)
	}
}

type change struct {
	Policy string
	State  string
	Model  string
}

func changes(in []Incident) []change {
	out := make([]change, len(in))
	for i, x := range in {
		out[i] = change{x.PolicyName, x.State, x.MetricLabels["model"]}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Policy+out[i].Model < out[j].Policy+out[j].Model })
	return out
}

func TestIncidentLifecycle(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	rec := &recordingNotifier{}
	env := startEnv(t, Options{Now: clock.Now, Notifier: rec})
	ctx := context.Background()
	ch := createPubSubChannel(t, env, "drift-alerts")
	filter := `metric.type = "` + statType + `" AND metric.label.method = "psi"`
	createPolicy(t, env, thresholdPolicy("now", filter, monitoringpb.ComparisonType_COMPARISON_GT, 0.2, 0, ch))
	createPolicy(t, env, thresholdPolicy("sustained", filter, monitoringpb.ComparisonType_COMPARISON_GT, 0.2, 2*time.Minute, ch))
	createPolicy(t, env, thresholdPolicy("low", filter, monitoringpb.ComparisonType_COMPARISON_LT, 0.05, 0)) // no channel

	// One point a minute for model a (psi) and model b (ks, filtered out).
	steps := []struct {
		value float64
		want  []change
	}{
		{0.1, []change{}},
		{0.5, []change{{"now", StateOpen, "a"}}},
		{0.6, []change{}},
		{0.7, []change{{"sustained", StateOpen, "a"}}}, // third violating minute: 120 s run
		{0.1, []change{{"now", StateClosed, "a"}, {"sustained", StateClosed, "a"}}},
		{0.01, []change{{"low", StateOpen, "a"}}},
		{0.1, []change{{"low", StateClosed, "a"}}},
	}
	for i, st := range steps {
		now := t0.Add(time.Duration(i) * time.Minute)
		clock.Set(now)
		if err := write(ctx, env.metrics,
			doublePoint(statType, map[string]string{"model": "a", "version": "1", "feature": "f1", "method": "psi"}, now, st.value),
			doublePoint(statType, map[string]string{"model": "b", "version": "1", "feature": "f1", "method": "ks"}, now, 0.9)); err != nil {
			t.Fatal(err)
		}
		got := changes(env.srv.Evaluate(ctx))
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("minute %d (value %v) incident changes (-want +got):\n%s", i, st.value, diff)
		}
	}
	// No data for a while changes nothing (missing data keeps state).
	clock.Set(t0.Add(20 * time.Minute))
	if got := env.srv.Evaluate(ctx); len(got) != 0 {
		t.Errorf("evaluation without data changed %v", changes(got))
	}
	all := env.srv.Incidents("")
	if len(all) != 3 || len(env.srv.Incidents(StateOpen)) != 0 {
		t.Fatalf("incidents = %v, want 3 closed", changes(all))
	}
	// Notifications: only the policies with a channel, open then close.
	msgs := rec.all()
	var states []string
	for _, m := range msgs {
		if m.topic != "projects/"+testProject+"/topics/drift-alerts" {
			t.Errorf("topic = %q", m.topic)
		}
		var n struct {
			Version  string `json:"version"`
			Incident struct {
				State      string `json:"state"`
				PolicyName string `json:"policy_name"`
			} `json:"incident"`
		}
		if err := json.Unmarshal(m.data, &n); err != nil {
			t.Fatalf("notification is not JSON: %v\n%s", err, m.data)
		}
		states = append(states, n.Incident.PolicyName+":"+n.Incident.State)
	}
	if diff := cmp.Diff([]string{"now:open", "sustained:open", "now:closed", "sustained:closed"}, states); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
	// The first notification in full: the fields of the real schema (version 1.2).
	var first map[string]any
	if err := json.Unmarshal(msgs[0].data, &first); err != nil {
		t.Fatal(err)
	}
	inc := first["incident"].(map[string]any)
	checks := map[string]any{
		"version":                                              "1.2",
		"incident.state":                                       "open",
		"incident.policy_name":                                 "now",
		"incident.condition_name":                              "now condition",
		"incident.scoping_project_id":                          testProject,
		"incident.threshold_value":                             "0.2",
		"incident.observed_value":                              "0.5",
		"incident.started_at":                                  float64(t0.Add(time.Minute).Unix()),
		"incident.ended_at":                                    nil,
		"incident.metric.type":                                 statType,
		"incident.metric.labels":                               map[string]any{"model": "a", "version": "1", "feature": "f1", "method": "psi"},
		"incident.resource.type":                               "global",
		"incident.documentation":                               map[string]any{"content": "Drift: see mega drift.", "mime_type": "text/markdown"},
		"incident.condition.conditionThreshold.comparison":     "COMPARISON_GT",
		"incident.condition.conditionThreshold.thresholdValue": 0.2,
	}
	for path, want := range checks {
		var got any = first
		for _, k := range strings.Split(path, ".") {
			m, ok := got.(map[string]any)
			if !ok {
				got = "<missing>"
				break
			}
			if got, ok = m[k]; !ok {
				got = "<missing>"
				break
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	if _, ok := inc["incident_id"].(string); !ok {
		t.Errorf("incident_id missing: %v", inc)
	}
	var closed map[string]any
	if err := json.Unmarshal(msgs[2].data, &closed); err != nil {
		t.Fatal(err)
	}
	if got := closed["incident"].(map[string]any)["ended_at"]; got != float64(t0.Add(4*time.Minute).Unix()) {
		t.Errorf("closed ended_at = %v, want %d", got, t0.Add(4*time.Minute).Unix())
	}
}

func TestIncidentMissingDataAndTrigger(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	env := startEnv(t, Options{Now: clock.Now, Notifier: &recordingNotifier{}})
	ctx := context.Background()
	filter := `metric.type = "` + statType + `"`
	inactive := thresholdPolicy("inactive", filter, monitoringpb.ComparisonType_COMPARISON_GT, 0.2, 0)
	inactive.Conditions[0].GetConditionThreshold().EvaluationMissingData = monitoringpb.AlertPolicy_Condition_EVALUATION_MISSING_DATA_INACTIVE
	createPolicy(t, env, inactive)
	auto := thresholdPolicy("autoclose", filter, monitoringpb.ComparisonType_COMPARISON_GT, 0.2, 0)
	auto.AlertStrategy = &monitoringpb.AlertPolicy_AlertStrategy{AutoClose: durationpb.New(30 * time.Minute)}
	createPolicy(t, env, auto)
	two := thresholdPolicy("two series", filter, monitoringpb.ComparisonType_COMPARISON_GT, 0.2, 0)
	two.Conditions[0].GetConditionThreshold().Trigger = &monitoringpb.AlertPolicy_Condition_Trigger{Type: &monitoringpb.AlertPolicy_Condition_Trigger_Count{Count: 2}}
	createPolicy(t, env, two)

	m := func(model string) map[string]string {
		return map[string]string{"model": model, "version": "1", "feature": "f", "method": "psi"}
	}
	if err := write(ctx, env.metrics, doublePoint(statType, m("a"), t0, 0.9), doublePoint(statType, m("b"), t0, 0.1)); err != nil {
		t.Fatal(err)
	}
	want := []change{{"autoclose", StateOpen, "a"}, {"inactive", StateOpen, "a"}}
	if diff := cmp.Diff(want, changes(env.srv.Evaluate(ctx))); diff != "" {
		t.Errorf("one violating series (-want +got):\n%s", diff)
	}
	clock.Set(t0.Add(time.Minute))
	if err := write(ctx, env.metrics, doublePoint(statType, m("a"), t0.Add(time.Minute), 0.9), doublePoint(statType, m("b"), t0.Add(time.Minute), 0.8)); err != nil {
		t.Fatal(err)
	}
	want = []change{{"autoclose", StateOpen, "b"}, {"inactive", StateOpen, "b"}, {"two series", StateOpen, "a"}, {"two series", StateOpen, "b"}}
	if diff := cmp.Diff(want, changes(env.srv.Evaluate(ctx))); diff != "" {
		t.Errorf("two violating series (-want +got):\n%s", diff)
	}
	// Data stops: "inactive" closes at once; "autoclose" after 30 minutes.
	clock.Set(t0.Add(5 * time.Minute))
	want = []change{{"inactive", StateClosed, "a"}, {"inactive", StateClosed, "b"}}
	if diff := cmp.Diff(want, changes(env.srv.Evaluate(ctx))); diff != "" {
		t.Errorf("missing data (-want +got):\n%s", diff)
	}
	clock.Set(t0.Add(31 * time.Minute))
	want = []change{{"autoclose", StateClosed, "a"}, {"autoclose", StateClosed, "b"}}
	if diff := cmp.Diff(want, changes(env.srv.Evaluate(ctx))); diff != "" {
		t.Errorf("auto close (-want +got):\n%s", diff)
	}
	if got := len(env.srv.Incidents(StateOpen)); got != 2 { // "two series" keeps its incidents open (default 7 days)
		t.Errorf("open incidents = %d, want 2", got)
	}
}

// TestNotificationPubSub runs the default notifier against pstest: a write
// that violates a policy triggers an evaluation and a message on the topic.
func TestNotificationPubSub(t *testing.T) {
	ps := pstest.NewServer()
	t.Cleanup(func() { ps.Close() })
	t.Setenv("PUBSUB_EMULATOR_HOST", ps.Addr)
	ctx := context.Background()
	conn, err := grpc.NewClient(ps.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	pc, err := pubsub.NewClient(ctx, testProject, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	topic := "projects/" + testProject + "/topics/drift-alerts"
	if _, err := pc.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}

	env := startEnv(t, Options{EvalInterval: time.Hour}) // real clock, default notifier, evaluation on write
	ch := createPubSubChannel(t, env, "drift-alerts")
	createPolicy(t, env, thresholdPolicy("drift", `metric.type = "`+statType+`"`, monitoringpb.ComparisonType_COMPARISON_GT, 0.2, 0, ch))
	if err := write(ctx, env.metrics, doublePoint(statType, map[string]string{"model": "m", "version": "1", "feature": "x", "method": "psi"}, time.Now(), 0.7)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if msgs := ps.Messages(); len(msgs) > 0 {
			var n Notification
			if err := json.Unmarshal(msgs[0].Data, &n); err != nil {
				t.Fatalf("message: %v\n%s", err, msgs[0].Data)
			}
			if n.Version != "1.2" || n.Incident.State != StateOpen || n.Incident.PolicyName != "drift" || n.Incident.ObservedValue != "0.7" {
				t.Errorf("notification = %+v", n)
			}
			if !strings.HasPrefix(n.Incident.URL, env.httpURL+"/#") {
				t.Errorf("url = %q, want the dashboard %s", n.Incident.URL, env.httpURL)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no notification published to pstest within 10 s")
}
