package monitoring

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type alertService struct {
	monitoringpb.UnimplementedAlertPolicyServiceServer
	s *Server
}

// validatePolicy checks what the evaluator relies on: threshold conditions
// with a parseable filter, a comparison and a supported aggregation.
func validatePolicy(p *monitoringpb.AlertPolicy) error {
	if len(p.GetConditions()) == 0 {
		return fmt.Errorf("Field alertPolicy.conditions is required.")
	}
	if len(p.GetConditions()) > 6 {
		return fmt.Errorf("Field alertPolicy.conditions had an invalid value: at most 6 conditions are allowed.")
	}
	if len(p.GetConditions()) > 1 && p.GetCombiner() == monitoringpb.AlertPolicy_COMBINE_UNSPECIFIED {
		return fmt.Errorf("Field alertPolicy.combiner is required when there is more than one condition.")
	}
	for i, c := range p.GetConditions() {
		if c.GetDisplayName() == "" {
			return fmt.Errorf("Field alertPolicy.conditions[%d].displayName is required.", i)
		}
		th := c.GetConditionThreshold()
		if th == nil {
			return fmt.Errorf("Field alertPolicy.conditions[%d]: only condition_threshold is supported by the emulator.", i)
		}
		f, err := ParseFilter(th.GetFilter())
		if err != nil {
			return fmt.Errorf("Field alertPolicy.conditions[%d].conditionThreshold.filter had an invalid value: %v", i, err)
		}
		if f.MetricType() == "" {
			return fmt.Errorf("Field alertPolicy.conditions[%d].conditionThreshold.filter must name a metric type.", i)
		}
		switch th.GetComparison() {
		case monitoringpb.ComparisonType_COMPARISON_GT, monitoringpb.ComparisonType_COMPARISON_GE,
			monitoringpb.ComparisonType_COMPARISON_LT, monitoringpb.ComparisonType_COMPARISON_LE,
			monitoringpb.ComparisonType_COMPARISON_EQ, monitoringpb.ComparisonType_COMPARISON_NE:
		default:
			return fmt.Errorf("Field alertPolicy.conditions[%d].conditionThreshold.comparison is required.", i)
		}
		if len(th.GetAggregations()) > 1 {
			return fmt.Errorf("Field alertPolicy.conditions[%d].conditionThreshold.aggregations: the emulator supports one aggregation.", i)
		}
		if len(th.GetAggregations()) == 1 {
			if _, err := parseAggregation(th.GetAggregations()[0]); err != nil {
				return fmt.Errorf("Field alertPolicy.conditions[%d].conditionThreshold.aggregations[0] had an invalid value: %v", i, err)
			}
		}
		if th.GetDenominatorFilter() != "" || th.GetForecastOptions() != nil {
			return fmt.Errorf("Field alertPolicy.conditions[%d].conditionThreshold: ratio and forecast conditions are not supported by the emulator.", i)
		}
		if d := th.GetDuration(); d != nil && (d.CheckValid() != nil || d.AsDuration() < 0) {
			return fmt.Errorf("Field alertPolicy.conditions[%d].conditionThreshold.duration had an invalid value.", i)
		}
	}
	return nil
}

// checkChannels verifies that a policy's channels exist. The caller holds s.mu.
func (s *Server) checkChannels(p *monitoringpb.AlertPolicy) error {
	for _, c := range p.GetNotificationChannels() {
		if _, ok := s.channels[c]; !ok {
			return status.Errorf(codes.NotFound, "Notification channel %q does not exist.", c)
		}
	}
	return nil
}

func (a *alertService) CreateAlertPolicy(_ context.Context, req *monitoringpb.CreateAlertPolicyRequest) (*monitoringpb.AlertPolicy, error) {
	project, err := projectOf(req.GetName())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	p := req.GetAlertPolicy()
	if p == nil {
		return nil, status.Error(codes.InvalidArgument, "Field alertPolicy is required.")
	}
	if p.GetName() != "" {
		return nil, status.Error(codes.InvalidArgument, "Field alertPolicy.name must be empty on create.")
	}
	if err := validatePolicy(p); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkChannels(p); err != nil {
		return nil, err
	}
	np := proto.Clone(p).(*monitoringpb.AlertPolicy)
	np.Name = "projects/" + project + "/alertPolicies/" + s.newID()
	for _, c := range np.Conditions {
		c.Name = np.Name + "/conditions/" + s.newID()
	}
	if np.Enabled == nil {
		np.Enabled = wrapperspb.Bool(true)
	}
	rec := &monitoringpb.MutationRecord{MutateTime: timestamppb.New(s.now()), MutatedBy: "emulator"}
	np.CreationRecord, np.MutationRecord = rec, rec
	s.policies[np.Name] = np
	s.dirty = true
	return proto.Clone(np).(*monitoringpb.AlertPolicy), nil
}

func (a *alertService) GetAlertPolicy(_ context.Context, req *monitoringpb.GetAlertPolicyRequest) (*monitoringpb.AlertPolicy, error) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	p, ok := a.s.policies[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Alert policy %q does not exist.", req.GetName())
	}
	return proto.Clone(p).(*monitoringpb.AlertPolicy), nil
}

func (a *alertService) ListAlertPolicies(_ context.Context, req *monitoringpb.ListAlertPoliciesRequest) (*monitoringpb.ListAlertPoliciesResponse, error) {
	project, err := projectOf(req.GetName())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	var f Filter
	if req.GetFilter() != "" { // the policy filter language differs; support display_name = "x"
		name, ok := strings.CutPrefix(strings.TrimSpace(req.GetFilter()), "display_name")
		name = strings.TrimSpace(name)
		if !ok || !strings.HasPrefix(name, "=") {
			return nil, status.Error(codes.Unimplemented, `the emulator supports only the policy filter display_name = "NAME"`)
		}
		f = Filter{Terms: []Term{{Field: "display_name", Values: []string{strings.Trim(strings.TrimSpace(name[1:]), `"`)}}}}
	}
	a.s.mu.Lock()
	var all []*monitoringpb.AlertPolicy
	for _, p := range a.s.policies {
		if !strings.HasPrefix(p.GetName(), "projects/"+project+"/") {
			continue
		}
		if !f.Match(func(string) (string, bool) { return p.GetDisplayName(), true }) {
			continue
		}
		all = append(all, proto.Clone(p).(*monitoringpb.AlertPolicy))
	}
	a.s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].GetName() < all[j].GetName() })
	page, next, err := paginate(len(all), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &monitoringpb.ListAlertPoliciesResponse{AlertPolicies: all[page[0]:page[1]], NextPageToken: next, TotalSize: int32(len(all))}, nil
}

func (a *alertService) UpdateAlertPolicy(_ context.Context, req *monitoringpb.UpdateAlertPolicyRequest) (*monitoringpb.AlertPolicy, error) {
	in := req.GetAlertPolicy()
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.policies[in.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Alert policy %q does not exist.", in.GetName())
	}
	np := proto.Clone(old).(*monitoringpb.AlertPolicy)
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 { // no mask: replace the whole policy, keeping output-only fields
		np = proto.Clone(in).(*monitoringpb.AlertPolicy)
		np.CreationRecord = old.CreationRecord
	}
	for _, path := range paths {
		switch path {
		case "display_name":
			np.DisplayName = in.GetDisplayName()
		case "documentation":
			np.Documentation = in.GetDocumentation()
		case "user_labels":
			np.UserLabels = in.GetUserLabels()
		case "conditions":
			np.Conditions = in.GetConditions()
		case "combiner":
			np.Combiner = in.GetCombiner()
		case "enabled":
			np.Enabled = in.GetEnabled()
		case "notification_channels":
			np.NotificationChannels = in.GetNotificationChannels()
		case "alert_strategy":
			np.AlertStrategy = in.GetAlertStrategy()
		case "severity":
			np.Severity = in.GetSeverity()
		default:
			return nil, status.Errorf(codes.InvalidArgument, "Field updateMask had an invalid path %q.", path)
		}
	}
	if err := validatePolicy(np); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.checkChannels(np); err != nil {
		return nil, err
	}
	for _, c := range np.Conditions {
		if !strings.HasPrefix(c.GetName(), np.Name+"/conditions/") {
			c.Name = np.Name + "/conditions/" + s.newID()
		}
	}
	if np.Enabled == nil {
		np.Enabled = wrapperspb.Bool(true)
	}
	np.MutationRecord = &monitoringpb.MutationRecord{MutateTime: timestamppb.New(s.now()), MutatedBy: "emulator"}
	s.policies[np.Name] = np
	s.dirty = true
	return proto.Clone(np).(*monitoringpb.AlertPolicy), nil
}

func (a *alertService) DeleteAlertPolicy(_ context.Context, req *monitoringpb.DeleteAlertPolicyRequest) (*emptypb.Empty, error) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.policies[req.GetName()]; !ok {
		return nil, status.Errorf(codes.NotFound, "Alert policy %q does not exist.", req.GetName())
	}
	delete(s.policies, req.GetName())
	// Open incidents of a deleted policy close, as in the real service.
	now := s.now()
	for _, in := range s.incidents {
		if in.Policy == req.GetName() && in.State == StateOpen {
			in.close(now, "the policy was deleted")
		}
	}
	s.dirty = true
	return &emptypb.Empty{}, nil
}

type channelService struct {
	monitoringpb.UnimplementedNotificationChannelServiceServer
	s *Server
}

func (c *channelService) CreateNotificationChannel(_ context.Context, req *monitoringpb.CreateNotificationChannelRequest) (*monitoringpb.NotificationChannel, error) {
	project, err := projectOf(req.GetName())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	ch := req.GetNotificationChannel()
	if ch == nil || ch.GetType() == "" {
		return nil, status.Error(codes.InvalidArgument, "Field notificationChannel.type is required.")
	}
	switch ch.GetType() {
	case "pubsub":
		t := ch.GetLabels()["topic"]
		if !strings.HasPrefix(t, "projects/") || !strings.Contains(t, "/topics/") {
			return nil, status.Error(codes.InvalidArgument, `Field notificationChannel.labels["topic"] must be projects/PROJECT/topics/TOPIC.`)
		}
	case "email":
		if !strings.Contains(ch.GetLabels()["email_address"], "@") {
			return nil, status.Error(codes.InvalidArgument, `Field notificationChannel.labels["email_address"] must be an email address.`)
		}
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	nc := proto.Clone(ch).(*monitoringpb.NotificationChannel)
	nc.Name = "projects/" + project + "/notificationChannels/" + s.newID()
	if nc.Enabled == nil {
		nc.Enabled = wrapperspb.Bool(true)
	}
	s.channels[nc.Name] = nc
	s.dirty = true
	return proto.Clone(nc).(*monitoringpb.NotificationChannel), nil
}

func (c *channelService) GetNotificationChannel(_ context.Context, req *monitoringpb.GetNotificationChannelRequest) (*monitoringpb.NotificationChannel, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ch, ok := c.s.channels[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Notification channel %q does not exist.", req.GetName())
	}
	return proto.Clone(ch).(*monitoringpb.NotificationChannel), nil
}

func (c *channelService) ListNotificationChannels(_ context.Context, req *monitoringpb.ListNotificationChannelsRequest) (*monitoringpb.ListNotificationChannelsResponse, error) {
	project, err := projectOf(req.GetName())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if req.GetFilter() != "" {
		return nil, status.Error(codes.Unimplemented, "channel filters are not supported by the emulator")
	}
	c.s.mu.Lock()
	var all []*monitoringpb.NotificationChannel
	for _, ch := range c.s.channels {
		if strings.HasPrefix(ch.GetName(), "projects/"+project+"/") {
			all = append(all, proto.Clone(ch).(*monitoringpb.NotificationChannel))
		}
	}
	c.s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].GetName() < all[j].GetName() })
	page, next, err := paginate(len(all), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &monitoringpb.ListNotificationChannelsResponse{NotificationChannels: all[page[0]:page[1]], NextPageToken: next, TotalSize: int32(len(all))}, nil
}

func (c *channelService) DeleteNotificationChannel(_ context.Context, req *monitoringpb.DeleteNotificationChannelRequest) (*emptypb.Empty, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.channels[req.GetName()]; !ok {
		return nil, status.Errorf(codes.NotFound, "Notification channel %q does not exist.", req.GetName())
	}
	if !req.GetForce() {
		for _, p := range s.policies {
			for _, n := range p.GetNotificationChannels() {
				if n == req.GetName() {
					return nil, status.Errorf(codes.FailedPrecondition, "Notification channel %q is used by alert policy %q; delete with force.", n, p.GetName())
				}
			}
		}
	}
	delete(s.channels, req.GetName())
	for _, p := range s.policies { // with force, references are removed
		kept := p.NotificationChannels[:0]
		for _, n := range p.NotificationChannels {
			if n != req.GetName() {
				kept = append(kept, n)
			}
		}
		p.NotificationChannels = kept
	}
	s.dirty = true
	return &emptypb.Empty{}, nil
}
