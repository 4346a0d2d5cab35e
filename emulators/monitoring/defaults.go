package monitoring

import (
	"fmt"
	"sort"
	"strings"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/monitoring/dashboard/apiv1/dashboardpb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/megapipe/mega/shared/alerting"
	"github.com/megapipe/mega/shared/config"
)

// installDefaults loads Megapipe's alert policies and dashboard (package
// alerting, the same definitions Terraform deploys) unless opts.Empty, or
// the ones given in opts, and attaches a Pub/Sub channel on the alert topic
// to the policies, as Terraform does in the cloud.
func (s *Server) installDefaults() error {
	policies, dash := s.opts.Policies, s.opts.Dashboard
	if !s.opts.Empty {
		var err error
		if policies == nil {
			if policies, err = alerting.Policies(); err != nil {
				return err
			}
		}
		if dash == nil {
			if dash, err = alerting.Dashboard(); err != nil {
				return err
			}
		}
	}
	s.dashboard = dash
	if len(policies) == 0 {
		return nil
	}
	for _, p := range policies {
		if err := validatePolicy(p); err != nil {
			return fmt.Errorf("policy %q: %w", p.GetDisplayName(), err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	topic := "projects/" + s.opts.Project + "/topics/" + s.opts.AlertTopic
	var channel string
	for _, name := range sortedKeys(s.channels) {
		ch := s.channels[name]
		if ch.GetType() == "pubsub" && ch.GetLabels()["topic"] == topic {
			channel = name
			break
		}
	}
	if channel == "" {
		channel = "projects/" + s.opts.Project + "/notificationChannels/" + s.newID()
		s.channels[channel] = &monitoringpb.NotificationChannel{Name: channel, Type: "pubsub",
			DisplayName: s.opts.AlertTopic + " (local)", Labels: map[string]string{"topic": topic}, Enabled: wrapperspb.Bool(true)}
	}
	byDisplay := map[string]*monitoringpb.AlertPolicy{}
	for _, p := range s.policies {
		if strings.HasPrefix(p.GetName(), "projects/"+s.opts.Project+"/") {
			byDisplay[p.GetDisplayName()] = p
		}
	}
	now := timestamppb.New(s.now())
	for _, def := range policies {
		np := proto.Clone(def).(*monitoringpb.AlertPolicy)
		np.NotificationChannels = []string{channel}
		if np.Enabled == nil {
			np.Enabled = wrapperspb.Bool(true)
		}
		old := byDisplay[def.GetDisplayName()]
		oldConds := map[string]string{}
		if old != nil { // keep names, so open incidents stay attached
			np.Name = old.GetName()
			np.CreationRecord = old.GetCreationRecord()
			for _, c := range old.GetConditions() {
				oldConds[c.GetDisplayName()] = c.GetName()
			}
		} else {
			np.Name = "projects/" + s.opts.Project + "/alertPolicies/" + s.newID()
			np.CreationRecord = &monitoringpb.MutationRecord{MutateTime: now, MutatedBy: "emulator (shared/alerting)"}
		}
		for _, c := range np.Conditions {
			if n, ok := oldConds[c.GetDisplayName()]; ok {
				c.Name = n
			} else {
				c.Name = np.Name + "/conditions/" + s.newID()
			}
		}
		np.MutationRecord = &monitoringpb.MutationRecord{MutateTime: now, MutatedBy: "emulator (shared/alerting)"}
		s.policies[np.Name] = np
	}
	s.dirty = true
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// tileChart is an xyChart tile of the dashboard, reduced to what the page draws.
type tileChart struct {
	title      string
	dataSets   []tileData
	thresholds []threshold
}

type tileData struct {
	filter string
	agg    *monitoringpb.Aggregation
}

// dashboardTiles extracts the xyChart tiles and text tiles of a dashboard.
func dashboardTiles(d *dashboardpb.Dashboard) (charts []tileChart, texts []string) {
	var widgets []*dashboardpb.Widget
	switch l := d.GetLayout().(type) {
	case *dashboardpb.Dashboard_MosaicLayout:
		for _, t := range l.MosaicLayout.GetTiles() {
			widgets = append(widgets, t.GetWidget())
		}
	case *dashboardpb.Dashboard_GridLayout:
		widgets = l.GridLayout.GetWidgets()
	}
	for _, w := range widgets {
		if txt := w.GetText(); txt != nil {
			texts = append(texts, txt.GetContent())
			continue
		}
		xy := w.GetXyChart()
		if xy == nil {
			continue
		}
		tc := tileChart{title: w.GetTitle()}
		for _, ds := range xy.GetDataSets() {
			f := ds.GetTimeSeriesQuery().GetTimeSeriesFilter()
			if f == nil {
				continue
			}
			a := f.GetAggregation()
			var agg *monitoringpb.Aggregation
			if a != nil {
				agg = &monitoringpb.Aggregation{AlignmentPeriod: a.GetAlignmentPeriod(),
					PerSeriesAligner:   monitoringpb.Aggregation_Aligner(a.GetPerSeriesAligner()),
					CrossSeriesReducer: monitoringpb.Aggregation_Reducer(a.GetCrossSeriesReducer()),
					GroupByFields:      a.GetGroupByFields()}
			}
			tc.dataSets = append(tc.dataSets, tileData{filter: f.GetFilter(), agg: agg})
		}
		for _, th := range xy.GetThresholds() {
			tc.thresholds = append(tc.thresholds, threshold{policy: th.GetLabel(), value: th.GetValue(),
				comparison: map[dashboardpb.Threshold_Direction]monitoringpb.ComparisonType{
					dashboardpb.Threshold_ABOVE: monitoringpb.ComparisonType_COMPARISON_GT,
					dashboardpb.Threshold_BELOW: monitoringpb.ComparisonType_COMPARISON_LT,
				}[th.GetDirection()]})
		}
		charts = append(charts, tc)
	}
	return charts, texts
}

func defaultProject(p string) string {
	if p == "" {
		return config.DefaultProject
	}
	return p
}
