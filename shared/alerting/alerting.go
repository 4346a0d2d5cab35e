package alerting

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/monitoring/dashboard/apiv1/dashboardpb"
	"google.golang.org/protobuf/encoding/protojson"
)

// Metric types the policies and the dashboard read.
const (
	MetricPrefix              = "custom.googleapis.com/megapipe/"
	MetricDriftStatistic      = MetricPrefix + "drift/statistic"       // labels model, version, feature, method
	MetricDriftDatasetShare   = MetricPrefix + "drift/dataset_share"   // labels model, version
	MetricDriftDrifted        = MetricPrefix + "drift/drifted"         // labels model, version, feature; 1 drifted, 0 not
	MetricServingRequestCount = MetricPrefix + "serving/request_count" // label model
	MetricServingLatency      = MetricPrefix + "serving/latency"       // label model; milliseconds
	MetricServingDropped      = MetricPrefix + "serving/dropped_samples"
)

// Values of the method label of MetricDriftStatistic that have an alert
// threshold: the names of shared/drift's Method constants.
const (
	MethodPSI           = "psi"
	MethodJensenShannon = "jensenshannon"
	MethodWasserstein   = "wasserstein"
	MethodLInf          = "linf"
)

// MonitoredResource is the monitored resource type the metrics are written on.
const MonitoredResource = "global"

// Drift policy names, the values of MEGA_DRIFT_POLICY (functions/driftcheck)
// and of Terraform's drift_policy: each has its own alert policy file,
// generated from shared/drift's policy of that name (see gen).
const (
	DriftPolicyDefault = "default" // drift.DefaultPolicy: policies.json
	DriftPolicyVertex  = "vertex"  // drift.VertexPolicy: policies_vertex.json
)

// PolicyFile names the alert policy file of a drift policy.
func PolicyFile(driftPolicy string) string {
	if driftPolicy == DriftPolicyDefault || driftPolicy == "" {
		return "policies.json"
	}
	return "policies_" + driftPolicy + ".json"
}

var (
	//go:embed policies.json
	policiesJSON []byte
	//go:embed policies_vertex.json
	policiesVertexJSON []byte
	//go:embed dashboard.json
	dashboardJSON []byte
)

// ErrInvalid is wrapped by every error about a malformed definition.
var ErrInvalid = errors.New("invalid definition")

// PoliciesJSON returns the alert policies as stored: a JSON array of
// AlertPolicy resources in the REST shape. The caller may modify the slice.
func PoliciesJSON() []byte { return append([]byte(nil), policiesJSON...) }

// DashboardJSON returns the dashboard as stored: one Dashboard resource in the
// REST shape. The caller may modify the slice.
func DashboardJSON() []byte { return append([]byte(nil), dashboardJSON...) }

// Policies returns the embedded alert policies, without notification
// channels.
func Policies() ([]*monitoringpb.AlertPolicy, error) {
	return ParsePolicies(policiesJSON)
}

// PoliciesFor returns the embedded alert policies whose thresholds are those
// of the named drift policy ("" or DriftPolicyDefault, DriftPolicyVertex).
func PoliciesFor(driftPolicy string) ([]*monitoringpb.AlertPolicy, error) {
	b, err := PoliciesJSONFor(driftPolicy)
	if err != nil {
		return nil, err
	}
	return ParsePolicies(b)
}

// PoliciesJSONFor is PoliciesJSON for the named drift policy.
func PoliciesJSONFor(driftPolicy string) ([]byte, error) {
	switch driftPolicy {
	case "", DriftPolicyDefault:
		return PoliciesJSON(), nil
	case DriftPolicyVertex:
		return append([]byte(nil), policiesVertexJSON...), nil
	}
	return nil, fmt.Errorf("alerting: drift policy %q: %w: want %s or %s", driftPolicy, ErrInvalid, DriftPolicyDefault, DriftPolicyVertex)
}

// Dashboard returns the embedded dashboard.
func Dashboard() (*dashboardpb.Dashboard, error) {
	return ParseDashboard(dashboardJSON)
}

// ParsePolicies parses a JSON array of AlertPolicy resources. Unknown fields
// are errors, so a misspelled field fails here rather than being dropped.
func ParsePolicies(data []byte) ([]*monitoringpb.AlertPolicy, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("alerting: parse policies: %w: %w", ErrInvalid, err)
	}
	out := make([]*monitoringpb.AlertPolicy, 0, len(raw))
	seen := map[string]bool{}
	for i, r := range raw {
		p := &monitoringpb.AlertPolicy{}
		if err := protojson.Unmarshal(r, p); err != nil {
			return nil, fmt.Errorf("alerting: parse policy %d: %w: %w", i, ErrInvalid, err)
		}
		if err := checkPolicy(p); err != nil {
			return nil, fmt.Errorf("alerting: policy %d: %w", i, err)
		}
		if seen[p.GetDisplayName()] {
			return nil, fmt.Errorf("alerting: policy %d: %w: display name %q used twice", i, ErrInvalid, p.GetDisplayName())
		}
		seen[p.GetDisplayName()] = true
		out = append(out, p)
	}
	return out, nil
}

// checkPolicy enforces what the Monitoring API requires of a new policy and
// what Terraform's google_monitoring_alert_policy needs (display_name,
// combiner, at least one condition, each with a display name and one
// condition type).
func checkPolicy(p *monitoringpb.AlertPolicy) error {
	if p.GetDisplayName() == "" {
		return fmt.Errorf("%w: no displayName", ErrInvalid)
	}
	if p.GetCombiner() == monitoringpb.AlertPolicy_COMBINE_UNSPECIFIED {
		return fmt.Errorf("%w: %q: no combiner", ErrInvalid, p.GetDisplayName())
	}
	if len(p.GetConditions()) == 0 {
		return fmt.Errorf("%w: %q: no conditions", ErrInvalid, p.GetDisplayName())
	}
	if p.GetName() != "" || len(p.GetNotificationChannels()) > 0 {
		return fmt.Errorf("%w: %q: name and notificationChannels are set by whoever deploys the policy", ErrInvalid, p.GetDisplayName())
	}
	for j, c := range p.GetConditions() {
		if c.GetDisplayName() == "" {
			return fmt.Errorf("%w: %q: condition %d has no displayName", ErrInvalid, p.GetDisplayName(), j)
		}
		th := c.GetConditionThreshold()
		if th == nil {
			return fmt.Errorf("%w: %q: condition %q: only conditionThreshold is supported", ErrInvalid, p.GetDisplayName(), c.GetDisplayName())
		}
		if th.GetFilter() == "" || th.GetComparison() == monitoringpb.ComparisonType_COMPARISON_UNSPECIFIED || th.GetDuration() == nil {
			return fmt.Errorf("%w: %q: condition %q: filter, comparison and duration are required", ErrInvalid, p.GetDisplayName(), c.GetDisplayName())
		}
	}
	return nil
}

// ParseDashboard parses one Dashboard resource. Unknown fields are errors.
func ParseDashboard(data []byte) (*dashboardpb.Dashboard, error) {
	d := &dashboardpb.Dashboard{}
	if err := protojson.Unmarshal(data, d); err != nil {
		return nil, fmt.Errorf("alerting: parse dashboard: %w: %w", ErrInvalid, err)
	}
	if d.GetDisplayName() == "" {
		return nil, fmt.Errorf("alerting: parse dashboard: %w: no displayName", ErrInvalid)
	}
	return d, nil
}
