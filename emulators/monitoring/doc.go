// Package monitoring is a local Cloud Monitoring emulator: the subset of the
// Monitoring v3 gRPC API that Megapipe uses, served for the real
// cloud.google.com/go/monitoring/apiv3/v2 clients, an evaluator that turns
// threshold alert policies into incidents, and a dashboard page.
//
// Google ships no Cloud Monitoring emulator. The local stack
// (emulators/stack) runs this one in-process:
//
//	srv, err := monitoring.NewServer(monitoring.Options{StateFile: dir + "/monitoring.json"})
//	go srv.Serve(ctx, grpcListener, httpListener)
//
// and points the code at it with MEGA_MONITORING_ENDPOINT=host:port (see
// shared/metrics); `mega alerts` reads the dashboard's JSON API
// (MEGA_MONITORING_DASHBOARD=http://host:port). `mega alerts emulator
// [--grpc 127.0.0.1:8088] [--http 127.0.0.1:8089] [--state FILE]
// [--project-id P] [--empty]` runs it alone.
//
// At start the server installs Megapipe's alert policies and dashboard from
// package alerting (the definitions Terraform deploys), in Options.Project
// (default megapipe-local), with a Pub/Sub notification channel on
// Options.AlertTopic (default drift-alerts) attached, as Terraform attaches
// its channels in the cloud. Policies are matched by display name, so a
// restart on the same state file updates them in place and open incidents
// stay attached. Options.Policies and Options.Dashboard replace the
// definitions; Options.Empty starts bare (tests).
//
// # gRPC API
//
// MetricService: CreateMetricDescriptor, GetMetricDescriptor,
// ListMetricDescriptors, DeleteMetricDescriptor, CreateTimeSeries,
// ListTimeSeries. AlertPolicyService: Create, Get, List, Update, Delete.
// NotificationChannelService: Create, Get, List, Delete. Other methods
// return Unimplemented.
//
// CreateTimeSeries enforces the real service's rules, with its error texts:
// at most 200 series per request; exactly one point per series
// ("Only one point can be written per TimeSeries per request."); no series
// twice in a request ("Duplicate TimeSeries encountered..."); points in
// order ("Points must be written in order. One or more of the points
// specified had an older start time than the most recent point."); at least
// 5 s between points of a series ("One or more points were written more
// frequently than the maximum sampling period configured for the metric.");
// value type and labels as declared by the descriptor. A metric without a
// descriptor is auto-created on first write if it is a user-defined metric
// (custom.googleapis.com/, external.googleapis.com/, workload.googleapis.com/),
// as the real service does, and is NotFound otherwise. Valid series of a
// request are written even when others fail; the error lists every failure
// and carries a CreateTimeSeriesSummary detail. The emulator does not
// reject points far in the past or future (the real service refuses points
// older than 25 hours), so tests can use fixed clocks.
// CreateMetricDescriptor of an existing type updates it, except that labels
// are never removed, as the real service documents; an auto-created
// descriptor must be GAUGE (the default) or CUMULATIVE.
//
// Values: DOUBLE, INT64 and BOOL gauges (and the kinds written by clients);
// STRING and DISTRIBUTION points are refused. Filters: see Filter.
// Aggregation: ALIGN_NONE, MEAN, MAX, MIN, SUM, COUNT, NEXT_OLDER with an
// alignment period (windows anchored at the interval's end time), and
// REDUCE_NONE, MEAN, MAX, MIN, SUM, COUNT with group_by_fields. Points are
// returned newest first, as the real service does.
//
// # Alerting
//
// Policies are evaluated every Options.EvalInterval (default 10 s) and
// right after each CreateTimeSeries; see Server.Evaluate for the exact
// semantics (per-series incidents, duration, trigger, combiner, missing
// data, auto-close). In short: an incident opens when a series meets a
// condition_threshold and closes at the first evaluation where the series
// has data and no longer meets it, like the real service's incidents
// "closing when the condition is no longer met"; missing data leaves it
// open until alert_strategy.auto_close (default 7 days).
//
// When an incident opens or closes, policies with an enabled notification
// channel of type "pubsub" (label topic = "projects/P/topics/T") publish the
// JSON that Cloud Monitoring's Pub/Sub channels send, {"incident": {...},
// "version": "1.2"} (see Notification), to that topic on the Pub/Sub
// emulator named by PUBSUB_EMULATOR_HOST. Without that variable nothing is
// published (a warning is logged): the emulator never publishes to a real
// project. Other channel types (email) are only logged.
//
// # Dashboard and JSON API
//
// Server.Handler serves, on the HTTP listener: / (the dashboard: a chart
// per metric over the last hour, ?window=6h, as inline SVG with the
// thresholds of the policies that watch the metric drawn as dashed lines,
// and the open and closed incidents; no scripts, no network; it reloads
// itself every 15 s), /api/incidents (?state=open|closed),
// /api/timeseries (?metric.type=T or ?filter=F, ?window=D, ?project=P),
// /api/policies and /healthz.
//
// # State
//
// State is kept in memory. With Options.StateFile it is loaded at start and
// saved (atomically) every 30 s when it changed and when Serve returns, so
// `mega local down` and `up` keep descriptors, history (Options.Retention,
// default 7 days), policies, channels and incidents.
//
// # Clock
//
// Every decision by "now" reads Options.Now (default time.Now): the
// retention cut, the evaluation windows, condition durations, missing data
// and auto-close, incident and mutation times, and the dashboard's and JSON
// API's default windows. Tests set it to a fake clock and derive their
// point times from it, so they mean the same on any date
// (emulators/clocktest runs it in 2041 and 2009).
//
// # Environment
//
//	PUBSUB_EMULATOR_HOST   where Pub/Sub notification channels publish (unset: not published)
//
// The listeners, the state file and the evaluation period are given by the
// embedding program (Options, Serve's listeners).
package monitoring
