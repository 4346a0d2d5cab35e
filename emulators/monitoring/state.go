package monitoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// snapshot is the state file's format: protos as protojson, points compact.
type snapshot struct {
	Version     int               `json:"version"`
	Descriptors []json.RawMessage `json:"metric_descriptors"`
	Series      []snapSeries      `json:"time_series"`
	Policies    []json.RawMessage `json:"alert_policies"`
	Channels    []json.RawMessage `json:"notification_channels"`
	Incidents   []*Incident       `json:"incidents"`
	NextID      int64             `json:"next_id"`
}

type snapSeries struct {
	Project   string          `json:"project"`
	Metric    json.RawMessage `json:"metric"`
	Resource  json.RawMessage `json:"resource"`
	Kind      string          `json:"metric_kind"`
	ValueType string          `json:"value_type"`
	Points    []snapPoint     `json:"points"`
}

type snapPoint struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Value float64   `json:"value"`
}

const snapshotVersion = 1

// Save writes the state file if one is configured and the state changed.
// It writes a temporary file and renames it, so a crash leaves the old one.
func (s *Server) Save() error {
	if s.opts.StateFile == "" {
		return nil
	}
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	snap := snapshot{Version: snapshotVersion, NextID: s.nextID, Incidents: s.incidents}
	var err error
	marshal := func(m proto.Message) json.RawMessage {
		b, e := protojson.Marshal(m)
		if e != nil && err == nil {
			err = e
		}
		return b
	}
	for _, d := range s.descriptors {
		snap.Descriptors = append(snap.Descriptors, marshal(d))
	}
	for _, p := range s.policies {
		snap.Policies = append(snap.Policies, marshal(p))
	}
	for _, c := range s.channels {
		snap.Channels = append(snap.Channels, marshal(c))
	}
	for _, ser := range s.series {
		ss := snapSeries{Project: ser.project, Metric: marshal(ser.metric), Resource: marshal(ser.resource),
			Kind: ser.kind.String(), ValueType: ser.valueType.String()}
		for _, p := range ser.points {
			ss.Points = append(ss.Points, snapPoint{Start: p.start, End: p.end, Value: p.value})
		}
		snap.Series = append(snap.Series, ss)
	}
	data, jerr := json.Marshal(snap)
	s.dirty = false
	s.mu.Unlock()
	if err == nil {
		err = jerr
	}
	if err != nil {
		return fmt.Errorf("monitoring: save state: %w", err)
	}
	dir := filepath.Dir(s.opts.StateFile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("monitoring: save state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".monitoring-state-*")
	if err != nil {
		return fmt.Errorf("monitoring: save state: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("monitoring: save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("monitoring: save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.opts.StateFile); err != nil {
		return fmt.Errorf("monitoring: save state: %w", err)
	}
	return nil
}

// load reads the state file; a missing file is an empty state.
func (s *Server) load(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.restore(data)
}

// restore replaces the state with a snapshot's.
func (s *Server) restore(data []byte) error {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("decode state: %w", err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("decode state: version %d, want %d", snap.Version, snapshotVersion)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, raw := range snap.Descriptors {
		d := &metricpb.MetricDescriptor{}
		if err := protojson.Unmarshal(raw, d); err != nil {
			return fmt.Errorf("decode state: metric_descriptors[%d]: %w", i, err)
		}
		s.descriptors[d.GetName()] = d
	}
	for i, raw := range snap.Policies {
		p := &monitoringpb.AlertPolicy{}
		if err := protojson.Unmarshal(raw, p); err != nil {
			return fmt.Errorf("decode state: alert_policies[%d]: %w", i, err)
		}
		s.policies[p.GetName()] = p
	}
	for i, raw := range snap.Channels {
		c := &monitoringpb.NotificationChannel{}
		if err := protojson.Unmarshal(raw, c); err != nil {
			return fmt.Errorf("decode state: notification_channels[%d]: %w", i, err)
		}
		s.channels[c.GetName()] = c
	}
	for i, ss := range snap.Series {
		ser := &series{project: ss.Project, metric: &metricpb.Metric{}, resource: &monitoredres.MonitoredResource{},
			kind:      metricpb.MetricDescriptor_MetricKind(metricpb.MetricDescriptor_MetricKind_value[ss.Kind]),
			valueType: metricpb.MetricDescriptor_ValueType(metricpb.MetricDescriptor_ValueType_value[ss.ValueType])}
		if err := protojson.Unmarshal(ss.Metric, ser.metric); err != nil {
			return fmt.Errorf("decode state: time_series[%d].metric: %w", i, err)
		}
		if err := protojson.Unmarshal(ss.Resource, ser.resource); err != nil {
			return fmt.Errorf("decode state: time_series[%d].resource: %w", i, err)
		}
		for j, p := range ss.Points {
			if j > 0 && !p.End.After(ss.Points[j-1].End) {
				return fmt.Errorf("decode state: time_series[%d]: points out of order", i)
			}
			ser.points = append(ser.points, sample{start: p.Start, end: p.End, value: p.Value})
		}
		s.series[seriesKey(ser.project, ser.metric, ser.resource)] = ser
	}
	for i, in := range snap.Incidents {
		if in == nil || (in.State != StateOpen && in.State != StateClosed) {
			return fmt.Errorf("decode state: incidents[%d]: bad state", i)
		}
	}
	s.incidents = snap.Incidents
	s.nextID = max(s.nextID, snap.NextID)
	return nil
}

func protojsonMarshal(m proto.Message) ([]byte, error) { return protojson.Marshal(m) }
