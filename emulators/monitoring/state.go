package monitoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
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
	Points    []snapPoint     `json:"-"`      // decoded from "points"
	RawPoints json.RawMessage `json:"points"` // encoded by encodePoints
}

// encodePoints writes points as snapPoint.MarshalJSON does, fast.
func encodePoints(pts []sample) json.RawMessage {
	b := make([]byte, 0, 32*len(pts)+2)
	b = append(b, '[')
	for i, p := range pts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, p.end.UnixMicro(), 10)
		b = append(b, ',')
		b = strconv.AppendFloat(b, p.value, 'g', -1, 64)
		if !p.start.Equal(p.end) {
			b = append(b, ',')
			b = strconv.AppendInt(b, p.start.UnixMicro(), 10)
		}
		b = append(b, ']')
	}
	return append(b, ']')
}

// snapPoint is stored compactly as [end_unix_micros, value] or, when the
// start differs from the end, [end_unix_micros, value, start_unix_micros]:
// a week of drift history is about a million points.
type snapPoint struct {
	Start time.Time
	End   time.Time
	Value float64
}

func (p snapPoint) MarshalJSON() ([]byte, error) {
	v := strconv.FormatFloat(p.Value, 'g', -1, 64)
	if p.Start.Equal(p.End) {
		return []byte("[" + strconv.FormatInt(p.End.UnixMicro(), 10) + "," + v + "]"), nil
	}
	return []byte("[" + strconv.FormatInt(p.End.UnixMicro(), 10) + "," + v + "," + strconv.FormatInt(p.Start.UnixMicro(), 10) + "]"), nil
}

func (p *snapPoint) UnmarshalJSON(b []byte) error {
	var a []json.Number
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	if len(a) != 2 && len(a) != 3 {
		return fmt.Errorf("point %s: want [end_us, value] or [end_us, value, start_us]", b)
	}
	end, err := a[0].Int64()
	if err != nil {
		return fmt.Errorf("point %s: end: %w", b, err)
	}
	if p.Value, err = a[1].Float64(); err != nil {
		return fmt.Errorf("point %s: value: %w", b, err)
	}
	p.End = time.UnixMicro(end).UTC()
	p.Start = p.End
	if len(a) == 3 {
		start, err := a[2].Int64()
		if err != nil {
			return fmt.Errorf("point %s: start: %w", b, err)
		}
		p.Start = time.UnixMicro(start).UTC()
	}
	return nil
}

const snapshotVersion = 2

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
	// Copy under the lock; encode outside it, so a large history does not
	// stall the API.
	snap := snapshot{Version: snapshotVersion, NextID: s.nextID}
	for _, in := range s.incidents {
		c := *in
		snap.Incidents = append(snap.Incidents, &c)
	}
	var err error
	marshal := func(m proto.Message) json.RawMessage {
		b, e := protojson.Marshal(m)
		if e != nil && err == nil {
			err = e
		}
		return b
	}
	for _, k := range sortedKeys(s.descriptors) {
		snap.Descriptors = append(snap.Descriptors, marshal(s.descriptors[k]))
	}
	for _, k := range sortedKeys(s.policies) {
		snap.Policies = append(snap.Policies, marshal(s.policies[k]))
	}
	for _, k := range sortedKeys(s.channels) {
		snap.Channels = append(snap.Channels, marshal(s.channels[k]))
	}
	keys := sortedKeys(s.series)
	points := make([][]sample, len(keys))
	for i, k := range keys {
		ser := s.series[k]
		snap.Series = append(snap.Series, snapSeries{Project: ser.project, Metric: marshal(ser.metric), Resource: marshal(ser.resource),
			Kind: ser.kind.String(), ValueType: ser.valueType.String()})
		points[i] = append([]sample(nil), ser.points...)
	}
	s.dirty = false
	s.mu.Unlock()
	for i := range snap.Series {
		snap.Series[i].RawPoints = encodePoints(points[i])
	}
	data, jerr := json.Marshal(snap)
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
		if len(ss.RawPoints) > 0 {
			if err := json.Unmarshal(ss.RawPoints, &ss.Points); err != nil {
				return fmt.Errorf("decode state: time_series[%d].points: %w", i, err)
			}
		}
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
