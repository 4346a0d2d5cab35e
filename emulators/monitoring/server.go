package monitoring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/monitoring/dashboard/apiv1/dashboardpb"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/grpc"

	"github.com/megapipe/mega/shared/config"
)

// Options configure a Server. The zero value is usable: in-memory state, a
// 10 s evaluation period, notifications through PUBSUB_EMULATOR_HOST if set.
type Options struct {
	// StateFile, if set, is a JSON file the state (descriptors, time series,
	// policies, channels, incidents) is loaded from at start and saved to
	// after changes and at shutdown, so that `mega local down`/`up` keeps the
	// history. Empty means memory only.
	StateFile string
	// EvalInterval is how often alert policies are evaluated, besides right
	// after each CreateTimeSeries. Default 10 s. Negative: never
	// automatically (tests call Evaluate).
	EvalInterval time.Duration
	// Retention bounds the stored history: older points are dropped. Default 7 days.
	Retention time.Duration
	// Now is the clock; tests pass a fake one. Default time.Now.
	Now func() time.Time
	// Notifier publishes incident notifications to Pub/Sub notification
	// channels. Default: a Pub/Sub client for PUBSUB_EMULATOR_HOST, or
	// nothing (a log line) when that variable is unset, so that the emulator
	// never publishes to a real project.
	Notifier Notifier
	// Logger receives the emulator's logs. Default slog.Default().
	Logger *slog.Logger

	// Project is the project the default policies are installed in and the
	// dashboard's charts read. Default config.DefaultProject.
	Project string
	// AlertTopic is the Pub/Sub topic of the notification channel attached to
	// the installed policies. Default config.TopicDriftAlerts.
	AlertTopic string
	// Policies are installed (or updated, matched by display name) at start,
	// with the AlertTopic channel attached. Nil means Megapipe's policies
	// (alerting.Policies), unless Empty.
	Policies []*monitoringpb.AlertPolicy
	// Dashboard lays out the dashboard page's charts (its xyChart tiles);
	// metrics no tile shows get a chart of their own. Nil means Megapipe's
	// dashboard (alerting.Dashboard), unless Empty.
	Dashboard *dashboardpb.Dashboard
	// Empty starts without Megapipe's default policies and dashboard.
	Empty bool
}

// Server is the Cloud Monitoring emulator: the Monitoring v3 gRPC services
// the real Go client calls, an alert policy evaluator and a dashboard.
type Server struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time

	mu          sync.Mutex
	descriptors map[string]*metricpb.MetricDescriptor // by resource name
	series      map[string]*series                    // by seriesKey
	policies    map[string]*monitoringpb.AlertPolicy  // by resource name
	channels    map[string]*monitoringpb.NotificationChannel
	incidents   []*Incident
	nextID      int64
	dirty       bool
	baseURL     string // the dashboard's URL, for incident links
	dashboard   *dashboardpb.Dashboard

	kick   chan struct{} // a write happened: evaluate soon
	evalMu sync.Mutex    // one evaluation at a time, so notifications keep their order
}

// NewServer creates a server and loads its state file, if any.
func NewServer(opts Options) (*Server, error) {
	if opts.EvalInterval == 0 {
		opts.EvalInterval = 10 * time.Second
	}
	if opts.Retention <= 0 {
		opts.Retention = 7 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Project = defaultProject(opts.Project)
	if opts.AlertTopic == "" {
		opts.AlertTopic = config.TopicDriftAlerts
	}
	if opts.Notifier == nil {
		opts.Notifier = newPubSubNotifier("", opts.Logger) // PUBSUB_EMULATOR_HOST, read when publishing
	}
	s := &Server{
		opts: opts, log: opts.Logger, now: opts.Now,
		descriptors: map[string]*metricpb.MetricDescriptor{},
		series:      map[string]*series{},
		policies:    map[string]*monitoringpb.AlertPolicy{},
		channels:    map[string]*monitoringpb.NotificationChannel{},
		nextID:      1,
		kick:        make(chan struct{}, 1),
	}
	if opts.StateFile != "" {
		if err := s.load(opts.StateFile); err != nil {
			return nil, fmt.Errorf("monitoring: load state: %w", err)
		}
	}
	if err := s.installDefaults(); err != nil {
		return nil, fmt.Errorf("monitoring: install policies: %w", err)
	}
	return s, nil
}

// RegisterGRPC registers the emulator's services on a gRPC server: the
// MetricService, AlertPolicyService and NotificationChannelService.
func (s *Server) RegisterGRPC(g *grpc.Server) {
	monitoringpb.RegisterMetricServiceServer(g, &metricService{s: s})
	monitoringpb.RegisterAlertPolicyServiceServer(g, &alertService{s: s})
	monitoringpb.RegisterNotificationChannelServiceServer(g, &channelService{s: s})
}

// Serve serves the gRPC API on grpcLis and the dashboard and JSON API on
// httpLis (either may be nil), evaluates policies periodically, and blocks
// until ctx is done; then it stops the listeners and saves the state file.
func (s *Server) Serve(ctx context.Context, grpcLis, httpLis net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if n, ok := s.opts.Notifier.(*pubsubNotifier); ok {
		defer n.Close()
	}
	errc := make(chan error, 3)
	var wg sync.WaitGroup
	var g *grpc.Server
	if grpcLis != nil {
		g = grpc.NewServer()
		s.RegisterGRPC(g)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Serve(grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- fmt.Errorf("monitoring: serve grpc: %w", err)
			}
		}()
		s.log.Info("monitoring emulator: gRPC API", "addr", grpcLis.Addr().String())
	}
	var h *http.Server
	if httpLis != nil {
		h = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.Serve(httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("monitoring: serve http: %w", err)
			}
		}()
		s.mu.Lock()
		s.baseURL = "http://" + httpLis.Addr().String()
		s.mu.Unlock()
		s.log.Info("monitoring emulator: dashboard", "url", "http://"+httpLis.Addr().String()+"/")
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.evaluateLoop(ctx) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		cancel()
	}
	if g != nil {
		stopped := make(chan struct{})
		go func() { g.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			g.Stop()
		}
	}
	if h != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = h.Shutdown(sctx)
		scancel()
	}
	wg.Wait()
	if serr := s.Save(); serr != nil && err == nil {
		err = serr
	}
	return err
}

func (s *Server) evaluateLoop(ctx context.Context) {
	var tick <-chan time.Time
	var kicked <-chan struct{}
	if s.opts.EvalInterval > 0 {
		t := time.NewTicker(s.opts.EvalInterval)
		defer t.Stop()
		tick = t.C
		kicked = s.kick
	}
	save := time.NewTicker(30 * time.Second)
	defer save.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-kicked:
		case <-save.C:
			if err := s.Save(); err != nil {
				s.log.Error("monitoring emulator: save state", "err", err)
			}
			continue
		}
		s.Evaluate(ctx)
	}
}

// newID returns a fresh numeric id, like the real service's policy and
// channel ids.
func (s *Server) newID() string {
	s.nextID++
	return fmt.Sprintf("%d", 1000000000000000000+s.nextID)
}

// projectOf checks a "projects/P" name and returns P.
func projectOf(name string) (string, error) {
	p, ok := strings.CutPrefix(name, "projects/")
	if !ok || p == "" || strings.Contains(p, "/") {
		return "", fmt.Errorf("name %q: want projects/PROJECT_ID", name)
	}
	return p, nil
}
