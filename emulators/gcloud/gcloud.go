package gcloud

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNotInstalled reports that the gcloud SDK or one of its emulator
// components is missing. Tests skip on it; everything else fails.
var ErrNotInstalled = errors.New("gcloud emulator not installed")

// ErrPortInUse reports that an emulator could not bind its port.
var ErrPortInUse = errors.New("emulator port in use")

// InstallHint says how to install both emulators.
const InstallHint = "install them with `gcloud components install pubsub-emulator cloud-firestore-emulator` " +
	"(or, where gcloud comes from Debian packages, `apt-get install google-cloud-cli-pubsub-emulator " +
	"google-cloud-cli-firestore-emulator`), plus a Java 11+ runtime"

// Kind is an emulator: Pub/Sub or Firestore.
type Kind int

const (
	PubSub Kind = iota + 1
	Firestore
)

func (k Kind) String() string {
	switch k {
	case PubSub:
		return "pubsub"
	case Firestore:
		return "firestore"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// EnvVar is the variable through which the Google Cloud clients find the
// emulator: PUBSUB_EMULATOR_HOST or FIRESTORE_EMULATOR_HOST.
func (k Kind) EnvVar() string {
	switch k {
	case PubSub:
		return "PUBSUB_EMULATOR_HOST"
	case Firestore:
		return "FIRESTORE_EMULATOR_HOST"
	}
	return ""
}

// readyMarker is the log line an emulator prints once it serves.
func (k Kind) readyMarker(port int) string {
	if k == PubSub {
		return "Server started, listening on " + strconv.Itoa(port)
	}
	return "Dev App Server is now running."
}

// Options configure one emulator. The zero value is usable.
type Options struct {
	Host          string        // address to bind [127.0.0.1]
	Port          int           // 0: a free port (retried on a lost race)
	WebSocketPort int           // Firestore only; 0: a free port
	Project       string        // Firestore's default project id [megapipe-local]; both emulators serve any project
	LogFile       string        // where the emulator's output goes; "": a temporary file removed by Stop
	SDKRoot       string        // "": found with SDKRoot
	Timeout       time.Duration // how long to wait for readiness [90s]
	// JVMFlags are given to the emulator's JVM; nil means DefaultJVMFlags.
	JVMFlags []string
	// DieWithParent asks the kernel to kill the emulator when the process
	// that started it dies (PR_SET_PDEATHSIG), so a crashed test binary or
	// supervisor leaves no Java process behind.
	DieWithParent bool
}

// DefaultJVMFlags make the emulators start faster and smaller on a busy
// machine: the client compiler only, and the serial collector. Measured on
// this 2-core machine under load (average 17): Pub/Sub ready in 1.8-3.9 s
// against 2.7-5.9 s without them, for about 15 MB more resident memory
// (124 MB against 110 MB at idle).
var DefaultJVMFlags = []string{"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"}

// Emulator is a running emulator process.
type Emulator struct {
	kind    Kind
	host    string
	port    int
	wsPort  int
	cmd     *exec.Cmd
	logPath string
	tempLog bool
	exited  chan struct{}
	waitErr error
	stop    sync.Once
	stopErr error
}

// Kind is the emulator's kind.
func (e *Emulator) Kind() Kind { return e.kind }

// Addr is host:port, the value of the emulator's environment variable.
func (e *Emulator) Addr() string { return net.JoinHostPort(e.host, strconv.Itoa(e.port)) }

// Port is the emulator's API port.
func (e *Emulator) Port() int { return e.port }

// Pid is the process id of the emulator; it is also its process group id.
func (e *Emulator) Pid() int { return e.cmd.Process.Pid }

// LogPath is the file that receives the emulator's output.
func (e *Emulator) LogPath() string { return e.logPath }

// StartPubSub starts the Pub/Sub emulator.
func StartPubSub(ctx context.Context, opts Options) (*Emulator, error) {
	return Start(ctx, PubSub, opts)
}

// StartFirestore starts the Firestore emulator (native mode).
func StartFirestore(ctx context.Context, opts Options) (*Emulator, error) {
	return Start(ctx, Firestore, opts)
}

// Start starts an emulator and returns once it serves requests. When
// opts.Port is 0 it picks free ports and retries a few times if another
// process takes a port first.
func Start(ctx context.Context, kind Kind, opts Options) (*Emulator, error) {
	if kind != PubSub && kind != Firestore {
		return nil, fmt.Errorf("start emulator: unknown kind %d", int(kind))
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Project == "" {
		opts.Project = "megapipe-local"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 90 * time.Second
	}
	root := opts.SDKRoot
	if root == "" {
		r, err := SDKRoot(ctx)
		if err != nil {
			return nil, fmt.Errorf("start %s emulator: %w", kind, err)
		}
		root = r
	}
	argv, err := command(root, kind)
	if err != nil {
		return nil, fmt.Errorf("start %s emulator: %w", kind, err)
	}
	if opts.JVMFlags == nil {
		opts.JVMFlags = DefaultJVMFlags
	}
	attempts := 1
	if opts.Port == 0 || (kind == Firestore && opts.WebSocketPort == 0) {
		attempts = 4
	}
	for i := 0; ; i++ {
		e, err := startOnce(ctx, kind, argv, opts)
		if err == nil {
			return e, nil
		}
		if !errors.Is(err, ErrPortInUse) || i+1 >= attempts {
			return nil, fmt.Errorf("start %s emulator: %w", kind, err)
		}
	}
}

// command is the argv prefix that runs the emulator, without port flags.
func command(root string, kind Kind) ([]string, error) {
	switch kind {
	case PubSub:
		script := filepath.Join(root, "platform", "pubsub-emulator", "bin", "cloud-pubsub-emulator")
		if _, err := os.Stat(script); err != nil {
			return nil, fmt.Errorf("%w: %s is missing; %s", ErrNotInstalled, script, InstallHint)
		}
		return []string{script}, nil
	default:
		// The component's script (cloud_firestore_emulator) runs Java as a
		// child of bash; running the same Java command directly makes the
		// JVM the process we start, so DieWithParent reaches it.
		jar := filepath.Join(root, "platform", "cloud-firestore-emulator", "cloud-firestore-emulator.jar")
		if _, err := os.Stat(jar); err != nil {
			return nil, fmt.Errorf("%w: %s is missing; %s", ErrNotInstalled, jar, InstallHint)
		}
		java := os.Getenv("JAVA")
		if java == "" {
			java = "java"
		}
		path, err := exec.LookPath(java)
		if err != nil {
			return nil, fmt.Errorf("%w: no Java runtime (%v); %s", ErrNotInstalled, err, InstallHint)
		}
		return []string{path, jvmFlagsMarker, "-Duser.language=en", "-cp", jar,
			"com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start"}, nil
	}
}

// jvmFlagsMarker stands in argv for Options.JVMFlags.
const jvmFlagsMarker = "<jvm-flags>"

func startOnce(ctx context.Context, kind Kind, argv []string, opts Options) (*Emulator, error) {
	port, err := pickPort(opts.Host, opts.Port)
	if err != nil {
		return nil, err
	}
	e := &Emulator{kind: kind, host: opts.Host, port: port, exited: make(chan struct{})}
	var args []string
	for _, a := range argv[1:] {
		if a == jvmFlagsMarker {
			args = append(args, opts.JVMFlags...)
		} else {
			args = append(args, a)
		}
	}
	args = append(args, "--host="+opts.Host, "--port="+strconv.Itoa(port))
	if kind == Firestore {
		ws, err := pickPort(opts.Host, opts.WebSocketPort)
		if err != nil {
			return nil, err
		}
		e.wsPort = ws
		args = append(args, "--websocket_port="+strconv.Itoa(ws), "--project_id="+opts.Project)
	}

	var logf *os.File
	if opts.LogFile != "" {
		if err := os.MkdirAll(filepath.Dir(opts.LogFile), 0o755); err != nil {
			return nil, fmt.Errorf("create log dir: %w", err)
		}
		logf, err = os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	} else {
		logf, err = os.CreateTemp("", "mega-"+kind.String()+"-*.log")
		e.tempLog = true
	}
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	e.logPath = logf.Name()

	// The emulator outlives ctx: ctx bounds only the start.
	cmd := exec.Command(argv[0], args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Stdin = nil
	if kind == PubSub && len(opts.JVMFlags) > 0 {
		// The Pub/Sub script passes $CLOUD_PUBSUB_EMULATOR_OPTS to the JVM.
		cmd.Env = append(os.Environ(), "CLOUD_PUBSUB_EMULATOR_OPTS="+
			strings.TrimSpace(os.Getenv("CLOUD_PUBSUB_EMULATOR_OPTS")+" "+strings.Join(opts.JVMFlags, " ")))
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if opts.DieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		e.removeTempLog()
		return nil, fmt.Errorf("run %s: %w", argv[0], err)
	}
	logf.Close() // the child holds its own descriptor
	e.cmd = cmd
	go func() {
		e.waitErr = cmd.Wait()
		close(e.exited)
	}()

	if err := e.waitReady(ctx, opts.Timeout); err != nil {
		tail := e.logTail(2048)
		_ = e.Stop(context.Background())
		if errors.Is(err, ErrPortInUse) {
			return nil, err
		}
		return nil, fmt.Errorf("%w (log %s: %s)", err, e.logPath, tail)
	}
	return e, nil
}

// waitReady polls the log for the ready line and GET / for "Ok".
func (e *Emulator) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + e.Addr() + "/"
	marker := e.kind.readyMarker(e.port)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-e.exited:
			if bytes.Contains(e.readLog(), []byte("BindException")) {
				return fmt.Errorf("%w: %s", ErrPortInUse, e.Addr())
			}
			return fmt.Errorf("emulator exited before it was ready: %v", e.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("wait for %s emulator on %s: %w", e.kind, e.Addr(), ctx.Err())
		case <-tick.C:
		}
		log := e.readLog()
		if bytes.Contains(log, []byte("BindException")) {
			// The Pub/Sub emulator does not exit when its port is taken.
			return fmt.Errorf("%w: %s", ErrPortInUse, e.Addr())
		}
		if !bytes.Contains(log, []byte(marker)) {
			continue
		}
		resp, err := client.Get(url)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "Ok" {
			return nil
		}
	}
}

func (e *Emulator) readLog() []byte {
	b, _ := os.ReadFile(e.logPath)
	return b
}

func (e *Emulator) logTail(n int) string {
	b := e.readLog()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// Stop signals the emulator's process group with SIGTERM, waits for the
// process to exit (SIGKILL after 10 s or when ctx ends) and removes a
// temporary log. It is safe to call more than once.
func (e *Emulator) Stop(ctx context.Context) error {
	e.stop.Do(func() {
		e.stopErr = e.terminate(ctx)
		e.removeTempLog()
	})
	return e.stopErr
}

// Done is closed when the emulator process has exited.
func (e *Emulator) Done() <-chan struct{} { return e.exited }

func (e *Emulator) terminate(ctx context.Context) error {
	pgid := e.cmd.Process.Pid
	select {
	case <-e.exited:
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // stray children, if any
		return nil
	default:
	}
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s emulator: %w", e.kind, err)
	}
	grace := time.NewTimer(10 * time.Second)
	defer grace.Stop()
	select {
	case <-e.exited:
	case <-grace.C:
	case <-ctx.Done():
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-e.exited
	return nil
}

func (e *Emulator) removeTempLog() {
	if e.tempLog && e.logPath != "" {
		_ = os.Remove(e.logPath)
	}
}

// pickPort returns want when it is not 0, else a port that is free now.
func pickPort(host string, want int) (int, error) {
	if want != 0 {
		return want, nil
	}
	return FreePort(host)
}

// FreePort returns a TCP port on host that nothing listens on at the moment
// of the call.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var sdkRoot struct {
	sync.Mutex
	root string
}

// SDKRoot finds the Google Cloud SDK: $MEGA_GCLOUD_SDK_ROOT or
// $CLOUDSDK_ROOT_DIR, else the SDK that the gcloud on PATH belongs to
// (`gcloud info --format=value(installation.sdk_root)`). The answer is
// cached.
func SDKRoot(ctx context.Context) (string, error) {
	sdkRoot.Lock()
	defer sdkRoot.Unlock()
	if sdkRoot.root != "" {
		return sdkRoot.root, nil
	}
	for _, v := range []string{"MEGA_GCLOUD_SDK_ROOT", "CLOUDSDK_ROOT_DIR"} {
		if d := os.Getenv(v); d != "" {
			sdkRoot.root = d
			return d, nil
		}
	}
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return "", fmt.Errorf("%w: gcloud is not on PATH; install the Google Cloud CLI, then %s", ErrNotInstalled, InstallHint)
	}
	// Fast path: gcloud is <root>/bin/gcloud, usually behind a symlink.
	if real, err := filepath.EvalSymlinks(gcloud); err == nil {
		root := filepath.Dir(filepath.Dir(real))
		if fi, err := os.Stat(filepath.Join(root, "platform")); err == nil && fi.IsDir() {
			sdkRoot.root = root
			return root, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, gcloud, "info", "--format=value(installation.sdk_root)").Output()
	if err != nil {
		return "", fmt.Errorf("find gcloud sdk root: %w", err)
	}
	root := strings.TrimSpace(string(out))
	if root == "" {
		return "", fmt.Errorf("find gcloud sdk root: gcloud info printed nothing")
	}
	sdkRoot.root = root
	return root, nil
}

// Installed reports, with an error wrapping ErrNotInstalled, whether both
// emulators can be started.
func Installed(ctx context.Context) error {
	root, err := SDKRoot(ctx)
	if err != nil {
		return err
	}
	for _, k := range []Kind{PubSub, Firestore} {
		if _, err := command(root, k); err != nil {
			return err
		}
	}
	return nil
}
