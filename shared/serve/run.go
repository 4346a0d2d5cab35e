package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/metrics"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/topic"
)

// RunOptions configure the service process. Zero values are read from the
// environment (see Run).
type RunOptions struct {
	Port   int    // listen port; 0 reads the environment, -1 takes any free port
	Host   string // listen host (default all interfaces, as Cloud Run needs)
	Models []string
	// Files serves model files without the registry: name -> .tflite path;
	// Specs gives their feature specs (name -> features.json path).
	Files map[string]string
	Specs map[string]string
	// Log forces prediction logging on or off ("on", "off"; default on with
	// the registry, off with Files).
	Log     string
	Workers int
	Logger  *slog.Logger
	// Config is the configuration; nil reads config.FromEnv.
	Config *config.Config
	// Listening is called with the bound address once the port is open.
	Listening func(addr string)

	// metrics, when set (tests), replaces the Monitoring client, reporting
	// every metricsEvery (default 10 s).
	metrics      metricSink
	metricsEvery time.Duration
}

// metricSink is what Run needs of package metrics' Client.
type metricSink interface {
	MetricWriter
	Flush(ctx context.Context) error
	Close() error
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

func envFloat(k string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil && v >= 0 {
		return v
	}
	return def
}

// Run serves until ctx ends (SIGTERM on Cloud Run), then stops accepting,
// finishes in-flight requests (up to 10 s), flushes prediction logs and
// metrics, and returns. The background goroutines (the prediction-log
// sampler, the metrics reporter, the registry watch) are joined before the
// clients they use are closed.
//
// Environment: PORT (Cloud Run) or AIP_HTTP_PORT (Vertex AI, preferred when
// set), default 8080; AIP_PREDICT_ROUTE, AIP_HEALTH_ROUTE,
// AIP_DEPLOYED_MODEL_ID; MEGA_SERVE_MODELS (comma-separated model names);
// MEGA_SERVE_LOG_SHARE (share of requests logged, default 1),
// MEGA_SERVE_LOG_RATE (instances per second, default 1000);
// MEGA_SERVE_MAX_INSTANCES (default 1024); MEGA_SERVE_WORKERS (interpreters
// per model, default GOMAXPROCS); plus package config's variables and the
// emulator hosts.
func Run(ctx context.Context, o RunOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	var cfg config.Config
	if o.Config != nil {
		cfg = *o.Config
	} else {
		c, err := config.FromEnv()
		if err != nil {
			return err
		}
		cfg = c
	}
	var err error
	switch {
	case o.Port == 0:
		o.Port = envInt("AIP_HTTP_PORT", envInt("PORT", 8080))
	case o.Port < 0:
		o.Port = 0
	}
	if len(o.Models) == 0 {
		for _, n := range strings.Split(os.Getenv("MEGA_SERVE_MODELS"), ",") {
			if n = strings.TrimSpace(n); n != "" {
				o.Models = append(o.Models, n)
			}
		}
	}
	if o.Workers == 0 {
		o.Workers = envInt("MEGA_SERVE_WORKERS", 0)
	}
	opts := Options{
		PredictRoute: os.Getenv("AIP_PREDICT_ROUTE"), HealthRoute: os.Getenv("AIP_HEALTH_ROUTE"),
		DeployedModelID: os.Getenv("AIP_DEPLOYED_MODEL_ID"), MaxInstances: envInt("MEGA_SERVE_MAX_INSTANCES", 0),
		Logger: log,
	}
	if len(o.Models) == 1 {
		opts.VertexModel = o.Models[0]
	}
	logOn := len(o.Files) == 0
	switch o.Log {
	case "on":
		logOn = true
	case "off":
		logOn = false
	case "":
	default:
		return fmt.Errorf("serve: log %q: want on or off", o.Log)
	}
	var (
		pub     *topic.Publisher
		sampler *Sampler
	)
	if logOn {
		if pub, err = topic.New(ctx, cfg.Project); err != nil {
			return err
		}
		defer pub.Close()
		host, _ := os.Hostname()
		sampler = NewSampler(pub, SamplerOptions{Share: envFloat("MEGA_SERVE_LOG_SHARE", 1), Rate: envFloat("MEGA_SERVE_LOG_RATE", 1000),
			Instance: host, Logger: log})
		opts.Sampler = sampler
	}
	s := NewServer(opts)

	ln, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)))
	if err != nil {
		return fmt.Errorf("serve: listen: %w", err)
	}
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "predict_route", s.opts.PredictRoute, "health_route", s.opts.HealthRoute)
	if o.Listening != nil {
		o.Listening(ln.Addr().String())
	}

	// The clients are closed only after every goroutine using them ended:
	// stop (deferred after the clients' Close, so it runs first) cancels
	// them and waits.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	stop := func() {
		stopBG()
		wg.Wait()
	}
	if sampler != nil {
		wg.Go(func() { sampler.Run(bg) })
	}
	var mc metricSink
	switch {
	case o.metrics != nil:
		mc = o.metrics
	case cfg.MonitoringEndpoint != "" || (len(o.Files) == 0 && os.Getenv("FIRESTORE_EMULATOR_HOST") == ""):
		mc = metrics.New(cfg)
	}
	if mc != nil {
		defer mc.Close()
		every := o.metricsEvery
		if every <= 0 {
			every = 10 * time.Second
		}
		wg.Go(func() { s.ReportMetrics(bg, mc, every) })
	}
	defer stop()

	if len(o.Files) > 0 {
		if err := loadFiles(s, o); err != nil {
			_ = hs.Close()
			return err
		}
		s.SetReady(true)
	} else {
		store, err := blob.New(ctx)
		if err != nil {
			_ = hs.Close()
			return err
		}
		defer store.Close()
		fs, err := firestore.NewClient(context.WithoutCancel(ctx), cfg.Project)
		if err != nil {
			_ = hs.Close()
			return fmt.Errorf("serve: firestore client: %w", err)
		}
		defer fs.Close()
		defer stop() // before the Close calls above
		l := &Loader{Server: s, Registry: registry.New(fs), Objects: store, Only: o.Models, Workers: o.Workers}
		if err := l.Start(ctx); err != nil {
			log.Error("initial load failed; watching the registry", "error", err)
		}
		wctx, stopWatch := context.WithCancel(ctx)
		go func() { <-bg.Done(); stopWatch() }() // a failed Serve ends the watch too
		wg.Go(func() {
			if err := l.Watch(wctx); err != nil {
				log.Error("registry watch ended", "error", err)
			}
		})
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	stop()
	if sampler != nil {
		<-sampler.Done()
		log.Info("prediction log flushed", "counters", sampler.Counters())
	}
	if mc != nil {
		if pts := s.Points(time.Now()); len(pts) > 0 {
			_ = mc.Write(sctx, pts...)
		}
		_ = mc.Flush(sctx)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}

func loadFiles(s *Server, o RunOptions) error {
	for name, path := range o.Files {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		cfg := ModelConfig{Name: name, Version: "v1", TFLite: data, Workers: o.Workers}
		if sp := o.Specs[name]; sp != "" {
			b, err := os.ReadFile(sp)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			if cfg.Spec, err = features.Parse(b); err != nil {
				return fmt.Errorf("serve: %s: %w", sp, err)
			}
		}
		m, err := LoadModel(cfg)
		if err != nil {
			return err
		}
		s.Install(m)
	}
	return nil
}
