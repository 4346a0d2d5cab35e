// Package alerting holds Megapipe's Cloud Monitoring alert policies and
// dashboard, defined once as data and used by both the cloud and the local
// stack:
//
//   - policies.json is a JSON array of AlertPolicy resources and dashboard.json
//     one Dashboard resource, in the shape of the Monitoring REST API
//     (projects.alertPolicies, projects.dashboards), so protojson parses them
//     into monitoringpb.AlertPolicy and dashboardpb.Dashboard.
//   - Terraform (terraform/alerting.tf) reads the same files with jsondecode
//     and turns them into google_monitoring_alert_policy dynamic blocks and
//     google_monitoring_dashboard's dashboard_json.
//   - The local Monitoring emulator loads them with Policies and Dashboard.
//
// The policies carry no notification channels: channel names exist only once
// a project has them, so Terraform attaches its Pub/Sub channel (drift-alerts)
// and email channel, and the emulator attaches what it has.
//
// The metrics the policies and the dashboard read are the custom metrics of
// the constants below, all GAUGE DOUBLE series on the "global" monitored
// resource: the drift check writes the drift metrics once per check, the
// inference service the serving metrics (request_count and dropped_samples as
// the count since its previous point, latency in milliseconds).
//
// Thresholds have one home, the drift policy the check uses (shared/drift):
// the policy files are generated from it by gen (`go generate
// ./shared/alerting`; a test fails when a committed file differs from the
// generator's output). policies.json carries drift.DefaultPolicy's
// thresholds (feature drift, per method label: psi 0.2, jensenshannon 0.1,
// wasserstein 0.1, linf 0.3; dataset drift: dataset_share above 0.5), and
// policies_vertex.json drift.VertexPolicy's (jensenshannon and linf 0.3).
// Terraform's drift_policy variable sets both MEGA_DRIFT_POLICY for the
// drift check and the file its alert policies come from, so the alerts
// follow the thresholds the check uses. The local Monitoring emulator loads
// policies.json (Policies); PoliciesFor returns the other set.
package alerting

//go:generate go run ./gen
