// Package metrics writes Megapipe's custom metrics to Cloud Monitoring: the
// drift check's statistics and the inference service's serving metrics, as
// GAUGE DOUBLE series named custom.googleapis.com/megapipe/... on the
// "global" monitored resource (the types the alert policies and the
// dashboard of package alerting read):
//
//	drift/statistic          model, version, feature, method
//	drift/dataset_share      model, version
//	drift/drifted            model, version, feature (1 drifted, 0 not)
//	serving/request_count    model, version (requests since the previous point)
//	serving/latency          model, version (milliseconds)
//	serving/dropped_samples  model, version (samples since the previous point)
//
// A Client is built lazily from config (New does no I/O):
// MEGA_MONITORING_ENDPOINT=host:port points it at a local endpoint without
// TLS or credentials (the emulator in emulators/monitoring); empty means the
// real service with Application Default Credentials. The same code runs in
// both places.
//
// Cloud Monitoring accepts at most one point per series per request, at most
// 200 series per request, and at most one point each 5 s per series. Write
// batches accordingly and coalesces points that come too fast: the newest is
// kept and sent by a later Write once 5 s have passed since the series' last
// point, or by Flush (which dates it last+5 s and waits for that moment).
// Descriptors are created on first use (EnsureDescriptors; AlreadyExists is
// fine).
package metrics
