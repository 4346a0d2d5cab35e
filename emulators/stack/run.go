package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/emulators/gcloud"
	"github.com/megapipe/mega/emulators/gcs"
	"github.com/megapipe/mega/emulators/monitoring"
	"github.com/megapipe/mega/emulators/router"
	"github.com/megapipe/mega/emulators/scheduler"
	"github.com/megapipe/mega/shared/config"
)

// monitoringServer is what the stack needs of the Monitoring emulator.
type monitoringServer interface {
	Serve(ctx context.Context, grpcLis, httpLis net.Listener) error
}

func newMonitoring(dir, project string, log *slog.Logger) (monitoringServer, error) {
	return monitoring.NewServer(monitoring.Options{
		StateFile: filepath.Join(dir, "monitoring.json"),
		Project:   project,
		Logger:    log.With("component", "monitoring"),
	})
}

// supervisor owns the running parts; stops run in reverse order.
type supervisor struct {
	opts  Options
	log   *slog.Logger
	state State
	stops []func()

	mu       sync.Mutex
	ready    bool // stack.json written
	children map[string]*child
	rt       *router.Router
	sched    *scheduler.Scheduler
}

// Run is the supervisor (`mega local run`): it starts the stack described
// by <dir>/options.json, writes <dir>/stack.json when everything is ready,
// and stops everything when ctx ends (SIGTERM). Logs go to log.
func Run(ctx context.Context, dir string, log *slog.Logger) error {
	opts, err := readOptions(dir)
	if err != nil {
		return err
	}
	if log == nil {
		log = slog.Default()
	}
	s := &supervisor{opts: opts, log: log, children: map[string]*child{}}
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	err = s.start(sctx)
	cancel()
	if err != nil {
		log.Error("stack start failed", "error", err.Error())
		s.stop()
		return err
	}
	s.mu.Lock()
	s.state.Started = start
	s.state.StartupMillis = time.Since(start).Milliseconds()
	err = writeState(dir, &s.state)
	s.ready = err == nil
	s.mu.Unlock()
	if err != nil {
		s.stop()
		return fmt.Errorf("write stack state: %w", err)
	}
	log.Info("stack ready", "startup_ms", s.state.StartupMillis, "endpoints", s.state.Endpoints)
	<-ctx.Done()
	log.Info("stack stopping")
	_ = os.Remove(filepath.Join(dir, StateFile))
	s.stop()
	log.Info("stack stopped")
	return nil
}

// setPid records a child's pid; watch goroutines write the same map.
func (s *supervisor) setPid(name string, pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Pids[name] = pid
}

func (s *supervisor) onStop(f func()) { s.stops = append(s.stops, f) }

func (s *supervisor) stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

// listen binds the default port, or a free one when it is taken or
// FreePorts is set.
func (s *supervisor) listen(def int) (net.Listener, error) {
	if !s.opts.FreePorts {
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(def)); err == nil {
			return l, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// port returns the default port if it is free now, else a free one.
func (s *supervisor) port(def int) (int, error) {
	l, err := s.listen(def)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *supervisor) start(ctx context.Context) error {
	dir := s.opts.Dir
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return fmt.Errorf("create log dir: %w", err)
	}
	st := &s.state
	st.Dir, st.Logs = dir, logs
	st.Pids = map[string]int{"supervisor": os.Getpid()}
	st.Vars = map[string]string{}

	project := s.opts.Project
	if project == "" {
		c, err := config.FromEnv()
		if err != nil {
			return err
		}
		project = c.Project
	}
	st.Project = project
	// The supervisor's own clients and its children read the stack's
	// variables from the process environment (the official clients follow
	// the emulator host variables); a failed Setenv is an error, not ignored.
	setVar := func(k, v string) error {
		st.Vars[k] = v
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("stack environment %s: %w", k, err)
		}
		return nil
	}
	if err := setVar("GOOGLE_CLOUD_PROJECT", project); err != nil {
		return err
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	st.Buckets = map[string]string{"raw": cfg.RawBucket, "models": cfg.ModelsBucket, "artifacts": cfg.ArtifactsBucket}
	if err := errors.Join(setVar("MEGA_RAW_BUCKET", cfg.RawBucket), setVar("MEGA_MODELS_BUCKET", cfg.ModelsBucket),
		setVar("MEGA_ARTIFACTS_BUCKET", cfg.ArtifactsBucket)); err != nil {
		return err
	}

	// 1. The two emulators, in parallel.
	var (
		wg   sync.WaitGroup
		emus [2]*gcloud.Emulator
		errs [2]error
	)
	for i, k := range []gcloud.Kind{gcloud.PubSub, gcloud.Firestore} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			emus[i], errs[i] = s.startEmulator(ctx, k, filepath.Join(logs, k.String()+".log"))
		}()
	}
	wg.Wait()
	for _, e := range emus {
		if e != nil {
			s.onStop(func() {
				sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				_ = e.Stop(sctx)
			})
		}
	}
	if err := errors.Join(errs[:]...); err != nil {
		return err
	}
	for _, e := range emus {
		if err := setVar(e.Kind().EnvVar(), e.Addr()); err != nil {
			return err
		}
		st.Pids[e.Kind().String()] = e.Pid()
		s.log.Info("emulator ready", "kind", e.Kind().String(), "addr", e.Addr(), "log", e.LogPath())
	}
	st.Endpoints.PubSub, st.Endpoints.Firestore = emus[0].Addr(), emus[1].Addr()
	// gcloud against the stack: its project, no credentials, and Pub/Sub at
	// the emulator (gcloud pubsub topics publish pipeline-trigger ...).
	if err := errors.Join(setVar("CLOUDSDK_CORE_PROJECT", project),
		setVar("CLOUDSDK_AUTH_DISABLE_CREDENTIALS", "true"),
		setVar("CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB", "http://"+emus[0].Addr()+"/")); err != nil {
		return err
	}

	// 2. Topics.
	ps, err := pubsub.NewClient(context.WithoutCancel(ctx), project)
	if err != nil {
		return fmt.Errorf("pubsub client: %w", err)
	}
	s.onStop(func() { _ = ps.Close() })
	topics := append([]string{config.TopicStorageEvents}, config.PipelineTopics...)
	terrs := make([]error, len(topics))
	for i, t := range topics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/" + project + "/topics/" + t})
			if err != nil && status.Code(err) != codes.AlreadyExists {
				terrs[i] = fmt.Errorf("create topic %s: %w", t, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(terrs...); err != nil {
		return err
	}

	// 3. Cloud Storage, in process, with finalize notifications.
	gcsPort, err := s.port(PortGCS)
	if err != nil {
		return err
	}
	gcsLog, err := os.OpenFile(filepath.Join(logs, "gcs.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	s.onStop(func() { gcsLog.Close() })
	store, err := gcs.Start(ctx, gcs.Options{Port: gcsPort, Project: project, NotifyTopic: config.TopicStorageEvents,
		Buckets: []string{cfg.RawBucket, cfg.ModelsBucket, cfg.ArtifactsBucket}, Versioned: []string{cfg.RawBucket, cfg.ModelsBucket}, Log: gcsLog})
	if err != nil {
		return err
	}
	s.onStop(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = store.Stop(sctx)
	})
	// With its scheme: Google's Python client needs it, the Go client takes
	// both forms.
	if err := setVar("STORAGE_EMULATOR_HOST", store.URL()); err != nil {
		return err
	}
	// gcloud storage (JSON API) against the emulator.
	if err := setVar("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", store.URL()+"/storage/v1/"); err != nil {
		return err
	}
	st.Endpoints.GCS = store.URL()

	// 4. Cloud Monitoring, in process.
	grpcLis, err := s.listen(PortMonitoringGRPC)
	if err != nil {
		return err
	}
	dashLis, err := s.listen(PortDashboard)
	if err != nil {
		grpcLis.Close()
		return err
	}
	mon, err := newMonitoring(dir, project, s.log)
	if err != nil {
		grpcLis.Close()
		dashLis.Close()
		return err
	}
	mctx, mcancel := context.WithCancel(context.WithoutCancel(ctx))
	mdone := make(chan struct{})
	go func() {
		defer close(mdone)
		if err := mon.Serve(mctx, grpcLis, dashLis); err != nil {
			s.log.Error("monitoring emulator", "error", err.Error())
		}
	}()
	s.onStop(func() { mcancel(); <-mdone })
	if err := setVar("MEGA_MONITORING_ENDPOINT", grpcLis.Addr().String()); err != nil {
		return err
	}
	st.Endpoints.MonitoringGRPC = grpcLis.Addr().String()
	st.Endpoints.Dashboard = "http://" + dashLis.Addr().String() + "/"
	if err := setVar("MEGA_MONITORING_DASHBOARD", "http://"+dashLis.Addr().String()); err != nil {
		return err
	}
	if err := waitHTTP(ctx, st.Endpoints.Dashboard+"healthz", nil); err != nil {
		return fmt.Errorf("monitoring dashboard: %w", err)
	}

	// 5. The functions host.
	fn, err := s.startChild(ctx, "functions", s.opts.FunctionsCommand, PortFunctions)
	if err != nil {
		return err
	}
	st.Endpoints.Functions = fn.url
	fnCmd, _ := fn.current()
	s.setPid("functions", fnCmd.Process.Pid)

	// 6. The router and the scheduler, in process.
	ctl, err := s.listen(PortRouter)
	if err != nil {
		return err
	}
	rt, err := router.New(ps, router.Options{Project: project, FunctionsURL: fn.url,
		Buckets: st.Buckets, Logger: s.log.With("component", "router")})
	if err != nil {
		ctl.Close()
		return err
	}
	s.rt = rt
	rctx, rcancel := context.WithCancel(context.WithoutCancel(ctx))
	rdone := make(chan struct{})
	go func() {
		defer close(rdone)
		if err := rt.Run(rctx); err != nil {
			s.log.Error("router stopped", "error", err.Error())
		}
	}()
	s.onStop(func() { rcancel(); <-rdone; rt.Stop() })
	sch, err := scheduler.New(ps, scheduler.Options{Logger: s.log.With("component", "scheduler")})
	if err != nil {
		ctl.Close()
		return err
	}
	s.sched = sch
	go func() { _ = sch.Run(rctx) }()
	s.onStop(func() { sch.Stop() })
	srv := &http.Server{Handler: s.controlHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ctl) }()
	s.onStop(func() { _ = srv.Close() })
	st.Endpoints.Router = "http://" + ctl.Addr().String()
	for !rt.Ready() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("router: %w", ctx.Err())
		case <-rdone:
			return errors.New("router stopped during start (see logs/supervisor.log)")
		case <-time.After(50 * time.Millisecond):
		}
	}

	// 7. The inference service, when the binary has one.
	if len(s.opts.ServeCommand) > 0 {
		sv, err := s.startChild(ctx, "serve", s.opts.ServeCommand, PortServe)
		if err != nil {
			return err
		}
		st.Endpoints.Serve = sv.url
		if err := setVar("MEGA_SERVE_URL", sv.url); err != nil {
			return err
		}
		svCmd, _ := sv.current()
		s.setPid("serve", svCmd.Process.Pid)
	}
	return nil
}

// startEmulator starts an emulator on its default port, or on a free one
// when that is taken.
func (s *supervisor) startEmulator(ctx context.Context, k gcloud.Kind, logFile string) (*gcloud.Emulator, error) {
	opts := gcloud.Options{LogFile: logFile, Project: s.state.Project, DieWithParent: true}
	if !s.opts.FreePorts {
		opts.Port = PortPubSub
		if k == gcloud.Firestore {
			opts.Port, opts.WebSocketPort = PortFirestore, PortFirestoreWS
		}
		if e, err := gcloud.Start(ctx, k, opts); err == nil || !errors.Is(err, gcloud.ErrPortInUse) {
			return e, err
		}
		s.log.Info("default port taken, using a free one", "kind", k.String(), "port", opts.Port)
		opts.Port, opts.WebSocketPort = 0, 0
	}
	return gcloud.Start(ctx, k, opts)
}

// child is a process the supervisor started and restarts when it dies.
type child struct {
	name string
	argv []string
	port int
	url  string
	env  []string
	log  string

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{} // closed when the current process exits
	stopping bool
	restarts int
}

func (c *child) current() (*exec.Cmd, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmd, c.done
}

func (c *child) alive() bool {
	_, done := c.current()
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// launch starts the child's process once.
func (c *child) launch() error {
	logf, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(c.argv[0], append(append([]string(nil), c.argv[1:]...), "--port", strconv.Itoa(c.port))...)
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	c.mu.Lock()
	c.cmd, c.done = cmd, done
	c.mu.Unlock()
	return nil
}

// startChild runs argv --port P with PORT=P and the stack's environment,
// in its own process group, waits until it answers HTTP, and from then on
// restarts it when it exits.
func (s *supervisor) startChild(ctx context.Context, name string, argv []string, def int) (*child, error) {
	port, err := s.port(def)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(s.opts.Dir, "logs", name+".log")
	_ = os.Remove(logPath)
	c := &child{name: name, argv: argv, port: port, url: "http://127.0.0.1:" + strconv.Itoa(port), log: logPath,
		env: append(append(os.Environ(), s.opts.ChildEnv...), "PORT="+strconv.Itoa(port))}
	if err := c.launch(); err != nil {
		return nil, err
	}
	s.onStop(func() { stopChild(c) })
	s.mu.Lock()
	s.children[name] = c
	s.mu.Unlock()
	_, done := c.current()
	if err := waitHTTP(ctx, c.url+"/", done); err != nil {
		return nil, fmt.Errorf("%s (%s, log logs/%s.log): %w", name, c.url, name, err)
	}
	cmd, _ := c.current()
	s.log.Info("child ready", "name", name, "url", c.url, "pid", cmd.Process.Pid)
	go s.watch(c)
	return c, nil
}

// watch restarts a child that exits while the stack runs, after a backoff
// (1 s doubling to 30 s; back to 1 s after a minute of running).
func (s *supervisor) watch(c *child) {
	wait := time.Second
	for {
		cmd, done := c.current()
		started := time.Now()
		<-done
		c.mu.Lock()
		stopping := c.stopping
		c.mu.Unlock()
		if stopping {
			return
		}
		if time.Since(started) > time.Minute {
			wait = time.Second
		}
		s.log.Error("child exited; restarting", "name", c.name, "pid", cmd.Process.Pid,
			"status", cmd.ProcessState.String(), "restart_in_ms", wait.Milliseconds())
		time.Sleep(wait)
		wait = min(2*wait, 30*time.Second)
		c.mu.Lock()
		if c.stopping {
			c.mu.Unlock()
			return
		}
		c.restarts++
		c.mu.Unlock()
		if err := c.launch(); err != nil {
			s.log.Error("child restart failed", "name", c.name, "error", err.Error())
			continue
		}
		cmd, _ = c.current()
		s.mu.Lock()
		s.state.Pids[c.name] = cmd.Process.Pid
		st := s.state
		ready := s.ready
		s.mu.Unlock()
		if ready {
			if err := writeState(s.opts.Dir, &st); err != nil {
				s.log.Error("write stack state", "error", err.Error())
			}
		}
		s.log.Info("child restarted", "name", c.name, "pid", cmd.Process.Pid)
	}
}

func stopChild(c *child) {
	c.mu.Lock()
	c.stopping = true
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

// waitHTTP polls url until it answers with any HTTP status, the context
// ends, or exited is closed.
func waitHTTP(ctx context.Context, url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer from %s: %w", url, ctx.Err())
		case <-exited:
			return errors.New("exited before it was ready")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// controlHandler serves GET /healthz (the router, the scheduler and the
// child processes) and POST /scheduler/tick (publish the drift tick now).
func (s *supervisor) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		h := map[string]any{"router": s.rt != nil && s.rt.Ready()}
		ok := h["router"].(bool)
		if s.sched != nil {
			h["scheduler_next"] = s.sched.Next()
		}
		s.mu.Lock()
		for name, c := range s.children {
			h[name] = c.alive()
			ok = ok && c.alive()
			c.mu.Lock()
			h[name+"_restarts"] = c.restarts
			c.mu.Unlock()
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(h)
	})
	mux.HandleFunc("POST /scheduler/tick", func(w http.ResponseWriter, r *http.Request) {
		if s.sched == nil {
			http.Error(w, "scheduler not running", http.StatusServiceUnavailable)
			return
		}
		id, err := s.sched.TickNow(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"message_id": id})
	})
	return mux
}
