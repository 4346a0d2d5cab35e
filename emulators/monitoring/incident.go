package monitoring

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/protobuf/proto"
)

// Incident states, as the real service writes them in notifications.
const (
	StateOpen   = "open"
	StateClosed = "closed"
)

// defaultAutoClose is the real service's default alert_strategy.auto_close:
// an open incident whose series sends no data for this long is closed.
const defaultAutoClose = 7 * 24 * time.Hour

// rawLookback is how far back an ALIGN_NONE condition looks for the latest
// raw point; older data counts as missing.
const rawLookback = 5 * time.Minute

// Incident is one alert incident: a policy condition that one time series
// (or one group, with a reducer) met. It is what /api/incidents returns.
type Incident struct {
	ID            string            `json:"incident_id"`
	Project       string            `json:"project"`
	Policy        string            `json:"policy"`      // resource name
	PolicyName    string            `json:"policy_name"` // display name
	Condition     string            `json:"condition"`
	ConditionName string            `json:"condition_name"`
	State         string            `json:"state"` // open | closed
	StartedAt     time.Time         `json:"started_at"`
	EndedAt       *time.Time        `json:"ended_at,omitempty"`
	MetricType    string            `json:"metric_type"`
	MetricLabels  map[string]string `json:"metric_labels,omitempty"`
	ResourceType  string            `json:"resource_type"`
	ResourceLabel map[string]string `json:"resource_labels,omitempty"`
	Comparison    string            `json:"comparison"`
	Threshold     float64           `json:"threshold_value"`
	Observed      float64           `json:"observed_value"`
	Summary       string            `json:"summary"`
	Severity      string            `json:"severity,omitempty"`
	SeriesKey     string            `json:"series_key"`
	LastData      time.Time         `json:"last_data"` // end time of the newest point seen for the series
}

func (in *Incident) close(now time.Time, why string) {
	t := now
	in.EndedAt = &t
	in.State = StateClosed
	in.Summary = why
}

// compare applies a threshold comparison.
func compare(c monitoringpb.ComparisonType, v, threshold float64) bool {
	switch c {
	case monitoringpb.ComparisonType_COMPARISON_GT:
		return v > threshold
	case monitoringpb.ComparisonType_COMPARISON_GE:
		return v >= threshold
	case monitoringpb.ComparisonType_COMPARISON_LT:
		return v < threshold
	case monitoringpb.ComparisonType_COMPARISON_LE:
		return v <= threshold
	case monitoringpb.ComparisonType_COMPARISON_EQ:
		return v == threshold
	case monitoringpb.ComparisonType_COMPARISON_NE:
		return v != threshold
	}
	return false
}

func comparisonWords(c monitoringpb.ComparisonType) string {
	switch c {
	case monitoringpb.ComparisonType_COMPARISON_GT:
		return "is above"
	case monitoringpb.ComparisonType_COMPARISON_GE:
		return "is at or above"
	case monitoringpb.ComparisonType_COMPARISON_LT:
		return "is below"
	case monitoringpb.ComparisonType_COMPARISON_LE:
		return "is at or below"
	case monitoringpb.ComparisonType_COMPARISON_EQ:
		return "equals"
	default:
		return "differs from"
	}
}

// seriesStatus is a condition's verdict on one output series.
type seriesStatus struct {
	a        aligned
	key      string
	met      bool
	observed float64
	last     time.Time
}

// event is an incident that opened or closed, with where to notify.
type event struct {
	incident Incident
	policy   *monitoringpb.AlertPolicy
	cond     *monitoringpb.AlertPolicy_Condition
	channels []*monitoringpb.NotificationChannel
}

// Evaluate evaluates every enabled policy once at the server's clock time,
// opens and closes incidents, sends their notifications, and returns the
// incidents that changed (copies).
//
// Semantics, following the real service's documentation:
//   - Each condition_threshold is evaluated per output time series (per
//     series, or per group with a cross-series reducer) over its aligned
//     points: the newest alignment window (now-P, now] must hold data.
//   - The condition is met for a series when its newest aligned value
//     violates the threshold and the consecutive violating points span at
//     least `duration` (duration 0: the newest value alone decides).
//   - trigger.count N (default 1) or trigger.percent: at least that many of
//     the series with data must meet the condition, else none counts.
//   - Combiner OR: conditions open incidents independently; AND: only when
//     every condition has a met series.
//   - An incident opens per policy, condition and series, and closes at the
//     first evaluation where that series has data and no longer meets the
//     condition. Missing data keeps the incident as it is, unless
//     evaluation_missing_data is EVALUATION_MISSING_DATA_INACTIVE (close);
//     an incident with no data for alert_strategy.auto_close (default 7
//     days) is closed.
func (s *Server) Evaluate(ctx context.Context) []Incident {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	now := s.now()
	s.mu.Lock()
	var events []event
	names := make([]string, 0, len(s.policies))
	for n := range s.policies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := s.policies[n]
		if p.GetEnabled() != nil && !p.GetEnabled().GetValue() {
			continue
		}
		events = append(events, s.evaluatePolicy(p, now)...)
	}
	if len(events) > 0 {
		s.dirty = true
	}
	s.mu.Unlock()
	changed := make([]Incident, 0, len(events))
	for _, e := range events {
		changed = append(changed, e.incident)
		s.log.Info("monitoring emulator: incident "+e.incident.State, "incident", e.incident.ID,
			"policy", e.incident.PolicyName, "condition", e.incident.ConditionName, "observed", e.incident.Observed)
		s.notify(ctx, e)
	}
	return changed
}

// evaluatePolicy evaluates one policy. The caller holds s.mu.
func (s *Server) evaluatePolicy(p *monitoringpb.AlertPolicy, now time.Time) []event {
	project, _, _ := strings.Cut(strings.TrimPrefix(p.GetName(), "projects/"), "/")
	results := make([][]seriesStatus, len(p.GetConditions()))
	anyMet := make([]bool, len(p.GetConditions()))
	for i, c := range p.GetConditions() {
		results[i] = s.evaluateCondition(project, c, now)
		for _, r := range results[i] {
			anyMet[i] = anyMet[i] || r.met
		}
	}
	allMet := true
	for _, m := range anyMet {
		allMet = allMet && m
	}
	and := p.GetCombiner() == monitoringpb.AlertPolicy_AND || p.GetCombiner() == monitoringpb.AlertPolicy_AND_WITH_MATCHING_RESOURCE

	var channels []*monitoringpb.NotificationChannel
	for _, n := range p.GetNotificationChannels() {
		if ch, ok := s.channels[n]; ok && (ch.GetEnabled() == nil || ch.GetEnabled().GetValue()) {
			channels = append(channels, proto.Clone(ch).(*monitoringpb.NotificationChannel))
		}
	}
	autoClose := defaultAutoClose
	if d := p.GetAlertStrategy().GetAutoClose(); d != nil && d.AsDuration() > 0 {
		autoClose = d.AsDuration()
	}
	var events []event
	emit := func(in *Incident, c *monitoringpb.AlertPolicy_Condition) {
		events = append(events, event{incident: *in, policy: proto.Clone(p).(*monitoringpb.AlertPolicy), cond: c, channels: channels})
	}
	for i, c := range p.GetConditions() {
		th := c.GetConditionThreshold()
		seen := map[string]seriesStatus{}
		for _, r := range results[i] {
			seen[r.key] = r
		}
		// close or keep open incidents
		open := map[string]*Incident{}
		for _, in := range s.incidents {
			if in.Policy != p.GetName() || in.Condition != c.GetName() || in.State != StateOpen {
				continue
			}
			r, ok := seen[in.SeriesKey]
			switch {
			case ok && !(r.met && (!and || allMet)):
				in.Observed = r.observed
				in.LastData = r.last
				in.close(now, fmt.Sprintf("%s for %s returned to normal with a value of %s.",
					in.MetricType, labelText(in.MetricLabels), formatValue(r.observed)))
				emit(in, c)
			case ok:
				in.Observed = r.observed
				in.LastData = r.last
				open[in.SeriesKey] = in
				s.dirty = true
			case th.GetEvaluationMissingData() == monitoringpb.AlertPolicy_Condition_EVALUATION_MISSING_DATA_INACTIVE:
				in.close(now, fmt.Sprintf("%s for %s has no data; the condition treats missing data as not met.", in.MetricType, labelText(in.MetricLabels)))
				emit(in, c)
			case now.Sub(in.LastData) >= autoClose:
				in.close(now, fmt.Sprintf("%s for %s sent no data for %s; the incident was closed automatically.", in.MetricType, labelText(in.MetricLabels), autoClose))
				emit(in, c)
			default:
				open[in.SeriesKey] = in
			}
		}
		if and && !allMet {
			continue
		}
		for _, r := range results[i] {
			if !r.met || open[r.key] != nil {
				continue
			}
			in := &Incident{
				ID: s.incidentID(), Project: project, Policy: p.GetName(), PolicyName: p.GetDisplayName(),
				Condition: c.GetName(), ConditionName: c.GetDisplayName(), State: StateOpen, StartedAt: now,
				MetricType: r.a.metric.GetType(), MetricLabels: cloneMap(r.a.metric.GetLabels()),
				ResourceType: r.a.resource.GetType(), ResourceLabel: cloneMap(r.a.resource.GetLabels()),
				Comparison: th.GetComparison().String(), Threshold: th.GetThresholdValue(), Observed: r.observed,
				Severity: severityText(p.GetSeverity()), SeriesKey: r.key, LastData: r.last,
			}
			in.Summary = fmt.Sprintf("%s for %s %s the threshold of %s with a value of %s.", in.MetricType,
				labelText(in.MetricLabels), comparisonWords(th.GetComparison()), formatValue(in.Threshold), formatValue(r.observed))
			s.incidents = append(s.incidents, in)
			emit(in, c)
		}
	}
	return events
}

// evaluateCondition computes the verdict of one threshold condition on
// every output series with data. The caller holds s.mu.
func (s *Server) evaluateCondition(project string, c *monitoringpb.AlertPolicy_Condition, now time.Time) []seriesStatus {
	th := c.GetConditionThreshold()
	f, err := ParseFilter(th.GetFilter())
	if err != nil { // validated on create; a stored file could still be wrong
		s.log.Warn("monitoring emulator: bad condition filter", "condition", c.GetName(), "err", err)
		return nil
	}
	var g aggregation
	if len(th.GetAggregations()) > 0 {
		if g, err = parseAggregation(th.GetAggregations()[0]); err != nil {
			return nil
		}
	} else {
		g.aligner = monitoringpb.Aggregation_ALIGN_NONE
	}
	window := g.period
	if g.aligner == monitoringpb.Aggregation_ALIGN_NONE {
		window = rawLookback
	}
	duration := th.GetDuration().AsDuration()
	var sel []*series
	for _, ser := range s.series {
		if ser.project == project && f.Match(ser.field) {
			sel = append(sel, ser)
		}
	}
	out := aggregate(sel, now.Add(-duration-window), now, g)
	var res []seriesStatus
	for _, a := range out {
		last := a.points[len(a.points)-1]
		if !last.t.After(now.Add(-window)) {
			continue // no data in the newest window: missing
		}
		r := seriesStatus{a: a, key: seriesKey(a.project, a.metric, a.resource), observed: last.v, last: last.t}
		if compare(th.GetComparison(), last.v, th.GetThresholdValue()) {
			runStart := last.t
			for k := len(a.points) - 2; k >= 0 && compare(th.GetComparison(), a.points[k].v, th.GetThresholdValue()); k-- {
				runStart = a.points[k].t
			}
			r.met = last.t.Sub(runStart) >= duration
		}
		res = append(res, r)
	}
	// trigger: how many series must meet the condition
	need := 1
	if tr := th.GetTrigger(); tr != nil {
		switch {
		case tr.GetCount() > 0:
			need = int(tr.GetCount())
		case tr.GetPercent() > 0:
			need = int(math.Ceil(tr.GetPercent() / 100 * float64(len(res))))
		}
	}
	n := 0
	for _, r := range res {
		if r.met {
			n++
		}
	}
	if n < need {
		for i := range res {
			res[i].met = false
		}
	}
	return res
}

// incidentID returns an id shaped like the real service's ("0.x1y2z3"):
// the server's counter, which is unique and persisted, then three base-36
// characters of the clock.
func (s *Server) incidentID() string {
	s.nextID++
	suffix := strconv.FormatInt(s.now().UnixNano()/1000%46656, 36)
	return "0." + strconv.FormatInt(s.nextID, 36) + strings.Repeat("0", 3-len(suffix)) + suffix
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func labelText(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func severityText(s monitoringpb.AlertPolicy_Severity) string {
	switch s {
	case monitoringpb.AlertPolicy_CRITICAL:
		return "Critical"
	case monitoringpb.AlertPolicy_ERROR:
		return "Error"
	case monitoringpb.AlertPolicy_WARNING:
		return "Warning"
	}
	return "no severity"
}

// Incidents returns copies of the incidents, newest first; state "" means all.
func (s *Server) Incidents(state string) []Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Incident
	for i := len(s.incidents) - 1; i >= 0; i-- {
		in := s.incidents[i]
		if state == "" || in.State == state {
			c := *in
			c.MetricLabels = cloneMap(in.MetricLabels)
			c.ResourceLabel = cloneMap(in.ResourceLabel)
			out = append(out, c)
		}
	}
	return out
}
