package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/api/option"
	labelpb "google.golang.org/genproto/googleapis/api/label"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/megapipe/mega/shared/alerting"
	"github.com/megapipe/mega/shared/config"
)

// Metric names, relative to alerting.MetricPrefix
// (custom.googleapis.com/megapipe/). The full types are the alerting
// package's constants, which the alert policies and the dashboard read.
const (
	DriftStatistic        = "drift/statistic"         // labels model, version, feature, method
	DriftDatasetShare     = "drift/dataset_share"     // labels model, version
	DriftDrifted          = "drift/drifted"           // labels model, version, feature; 1 drifted, 0 not
	ServingRequestCount   = "serving/request_count"   // labels model, version; requests since the previous point
	ServingLatency        = "serving/latency"         // labels model, version; milliseconds
	ServingDroppedSamples = "serving/dropped_samples" // labels model, version; log samples dropped since the previous point
)

// Descriptor describes one Megapipe metric. All are GAUGE DOUBLE series on
// the "global" monitored resource (see package alerting).
type Descriptor struct {
	Name        string   // e.g. DriftStatistic
	Labels      []string // label keys, all required on every point
	Unit        string   // UCUM unit
	Description string
}

// Type is the full metric type, custom.googleapis.com/megapipe/<Name>.
func (d Descriptor) Type() string { return alerting.MetricPrefix + d.Name }

// Descriptors are the metrics Megapipe writes.
var Descriptors = []Descriptor{
	{DriftStatistic, []string{"model", "version", "feature", "method"}, "1", "Drift statistic of one feature by one method (psi, jensenshannon, wasserstein, linf, ks, chisquare: the names of shared/drift.Method) in the latest drift check."},
	{DriftDatasetShare, []string{"model", "version"}, "1", "Share of the features that drifted in the latest drift check."},
	{DriftDrifted, []string{"model", "version", "feature"}, "1", "1 if the feature drifted in the latest drift check, else 0."},
	{ServingRequestCount, []string{"model", "version"}, "{request}", "Prediction requests served since the previous point."},
	{ServingLatency, []string{"model", "version"}, "ms", "Mean prediction latency since the previous point, in milliseconds."},
	{ServingDroppedSamples, []string{"model", "version"}, "{sample}", "Request log samples dropped since the previous point (buffer full or publish failed)."},
}

func descriptorByName(name string) (Descriptor, bool) {
	for _, d := range Descriptors {
		if d.Name == name {
			return d, true
		}
	}
	return Descriptor{}, false
}

// Errors of this package. ErrInvalidPoint is permanent (a bug in the
// caller); errors from the service wrap the gRPC status.
var (
	ErrInvalidPoint = errors.New("invalid metric point")
	ErrOutOfOrder   = errors.New("point older than the last written point of its series")
)

// Point is one value of one series.
type Point struct {
	Metric string            // a Descriptor name, e.g. DriftStatistic
	Labels map[string]string // exactly the descriptor's label keys
	Value  float64
	Time   time.Time // zero: now
}

// Limits of Cloud Monitoring's CreateTimeSeries.
const (
	maxSeriesPerRequest = 200
	MinSpacing          = 5 * time.Second // at most one point each 5 s per series
	callTimeout         = 30 * time.Second
)

// Client writes Megapipe's metrics. It is built lazily: New does no network
// I/O; the first call connects (and creates the descriptors). It is safe for
// concurrent use.
type Client struct {
	project string
	opts    []option.ClientOption
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error

	mu      sync.Mutex
	mc      *monitoring.MetricClient
	ensured bool
	last    map[string]time.Time // series key -> end time of its last written point
	pending map[string]Point     // coalesced points waiting for the 5 s spacing
}

// New returns a client for cfg.Project. cfg.MonitoringEndpoint =
// "host:port" means a local endpoint without TLS or credentials (the
// emulator); empty means the real service with Application Default
// Credentials.
func New(cfg config.Config) *Client {
	var opts []option.ClientOption
	if cfg.MonitoringEndpoint != "" {
		opts = []option.ClientOption{option.WithEndpoint(cfg.MonitoringEndpoint), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))}
	}
	return NewWithOptions(cfg.Project, opts...)
}

// NewWithOptions returns a client for a project with explicit client options.
func NewWithOptions(project string, opts ...option.ClientOption) *Client {
	return &Client{project: project, opts: opts, now: time.Now, sleep: sleepCtx,
		last: map[string]time.Time{}, pending: map[string]Point{}}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// client returns the metric client, connecting on first use. c.mu is held.
func (c *Client) client(ctx context.Context) (*monitoring.MetricClient, error) {
	if c.mc != nil {
		return c.mc, nil
	}
	mc, err := monitoring.NewMetricClient(ctx, c.opts...)
	if err != nil {
		return nil, fmt.Errorf("metrics: connect: %w", err)
	}
	c.mc = mc
	return mc, nil
}

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, callTimeout)
}

// EnsureDescriptors creates the metric descriptors. It is idempotent: an
// existing descriptor (AlreadyExists) is fine, and after one success the
// client does not ask again. Write calls it on first use.
func (c *Client) EnsureDescriptors(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ensure(ctx)
}

func (c *Client) ensure(ctx context.Context) error {
	if c.ensured {
		return nil
	}
	mc, err := c.client(ctx)
	if err != nil {
		return err
	}
	for _, d := range Descriptors {
		md := &metricpb.MetricDescriptor{Type: d.Type(), MetricKind: metricpb.MetricDescriptor_GAUGE,
			ValueType: metricpb.MetricDescriptor_DOUBLE, Unit: d.Unit, Description: d.Description, DisplayName: "megapipe " + d.Name}
		for _, l := range d.Labels {
			md.Labels = append(md.Labels, &labelpb.LabelDescriptor{Key: l, ValueType: labelpb.LabelDescriptor_STRING})
		}
		cctx, cancel := withTimeout(ctx)
		_, err := mc.CreateMetricDescriptor(cctx, &monitoringpb.CreateMetricDescriptorRequest{Name: "projects/" + c.project, MetricDescriptor: md})
		cancel()
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("metrics: create descriptor %s: %w", d.Type(), err)
		}
	}
	c.ensured = true
	return nil
}

func seriesKey(p Point) string {
	keys := make([]string, 0, len(p.Labels))
	for k := range p.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(p.Metric)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + p.Labels[k])
	}
	return b.String()
}

func validate(p Point) error {
	d, ok := descriptorByName(p.Metric)
	if !ok {
		return fmt.Errorf("%w: unknown metric %q", ErrInvalidPoint, p.Metric)
	}
	if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
		return fmt.Errorf("%w: %s: value %v is not finite", ErrInvalidPoint, p.Metric, p.Value)
	}
	if len(p.Labels) != len(d.Labels) {
		return fmt.Errorf("%w: %s: labels %v, want exactly %v", ErrInvalidPoint, p.Metric, p.Labels, d.Labels)
	}
	for _, k := range d.Labels {
		if _, ok := p.Labels[k]; !ok {
			return fmt.Errorf("%w: %s: label %q missing", ErrInvalidPoint, p.Metric, k)
		}
	}
	return nil
}

// Write writes points, at most one per series per request and in requests
// of at most 200 series, as Cloud Monitoring requires.
//
// Spacing (at most one point each 5 s per series) is handled by coalescing:
// several points of one series in one call, or a point less than 5 s
// (by point time) after the last written point of its series, are not sent
// at once; the newest of them is kept as pending and sent by a later Write
// once it is at least 5 s after the last written point, or by Flush. So a
// gauge written too often loses intermediate values, never the latest one.
// A point older than the last written point of its series is dropped and
// reported with ErrOutOfOrder (after the other points were written).
func (c *Client) Write(ctx context.Context, points ...Point) error {
	now := c.now()
	for i := range points {
		if err := validate(points[i]); err != nil {
			return fmt.Errorf("metrics: write: %w", err)
		}
		if points[i].Time.IsZero() {
			points[i].Time = now
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ensure(ctx); err != nil {
		return err
	}
	var stale []string
	for _, p := range points {
		k := seriesKey(p)
		if last, ok := c.last[k]; ok && !p.Time.After(last) {
			stale = append(stale, p.Metric+labelText(p.Labels))
			continue
		}
		if q, ok := c.pending[k]; !ok || p.Time.After(q.Time) {
			c.pending[k] = p
		}
	}
	var ready []string
	for k, p := range c.pending {
		if last, ok := c.last[k]; !ok || p.Time.Sub(last) >= MinSpacing {
			ready = append(ready, k)
		}
	}
	if err := c.send(ctx, ready); err != nil {
		return err
	}
	if len(stale) > 0 {
		return fmt.Errorf("metrics: write: %w: %s", ErrOutOfOrder, strings.Join(stale, ", "))
	}
	return nil
}

// Flush sends the pending points. A point less than 5 s after the last
// written point of its series is written with the time last+5 s, after
// waiting until that time has come (at most 5 s), so no point is dated in
// the future. Call it before the process exits.
func (c *Client) Flush(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) == 0 {
		return nil
	}
	if err := c.ensure(ctx); err != nil {
		return err
	}
	var latest time.Time
	keys := make([]string, 0, len(c.pending))
	for k, p := range c.pending {
		if last, ok := c.last[k]; ok && p.Time.Sub(last) < MinSpacing {
			p.Time = last.Add(MinSpacing)
			c.pending[k] = p
		}
		if p.Time.After(latest) {
			latest = p.Time
		}
		keys = append(keys, k)
	}
	if wait := latest.Sub(c.now()); wait > 0 {
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("metrics: flush: %w", err)
		}
	}
	return c.send(ctx, keys)
}

// send writes the pending points of these series, 200 series a request.
// c.mu is held.
func (c *Client) send(ctx context.Context, keys []string) error {
	sort.Strings(keys)
	mc, err := c.client(ctx)
	if err != nil {
		return err
	}
	for len(keys) > 0 {
		n := min(len(keys), maxSeriesPerRequest)
		batch := keys[:n]
		keys = keys[n:]
		req := &monitoringpb.CreateTimeSeriesRequest{Name: "projects/" + c.project}
		for _, k := range batch {
			p := c.pending[k]
			req.TimeSeries = append(req.TimeSeries, &monitoringpb.TimeSeries{
				Metric:     &metricpb.Metric{Type: alerting.MetricPrefix + p.Metric, Labels: p.Labels},
				Resource:   &monitoredres.MonitoredResource{Type: alerting.MonitoredResource, Labels: map[string]string{"project_id": c.project}},
				MetricKind: metricpb.MetricDescriptor_GAUGE,
				ValueType:  metricpb.MetricDescriptor_DOUBLE,
				Points: []*monitoringpb.Point{{
					Interval: &monitoringpb.TimeInterval{EndTime: timestamppb.New(p.Time)},
					Value:    &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DoubleValue{DoubleValue: p.Value}},
				}},
			})
		}
		cctx, cancel := withTimeout(ctx)
		err := mc.CreateTimeSeries(cctx, req)
		cancel()
		if err != nil {
			// The service may have written part of the batch; keep the
			// points pending so a later call retries them (a retry of a
			// written point fails as out of order and is dropped then).
			return fmt.Errorf("metrics: write %d series: %w", len(batch), err)
		}
		for _, k := range batch {
			c.last[k] = c.pending[k].Time
			delete(c.pending, k)
		}
	}
	return nil
}

// Pending returns how many points wait for their 5 s spacing.
func (c *Client) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Close closes the connection. Pending points are not sent; call Flush first.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mc == nil {
		return nil
	}
	err := c.mc.Close()
	c.mc = nil
	if err != nil {
		return fmt.Errorf("metrics: close: %w", err)
	}
	return nil
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
	return "{" + strings.Join(parts, ",") + "}"
}
