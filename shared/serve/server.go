package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server.
type Options struct {
	// MaxBody bounds a request body in bytes (default 4 MiB).
	MaxBody int64
	// MaxInstances bounds the instances of one request (default 1024).
	MaxInstances int
	// Timeout bounds a prediction when the request has no earlier deadline
	// (default 10 s).
	Timeout time.Duration
	// PredictRoute and HealthRoute are Vertex AI's routes
	// (AIP_PREDICT_ROUTE, AIP_HEALTH_ROUTE; default /predict and /health).
	PredictRoute string
	HealthRoute  string
	// DeployedModelID is Vertex AI's AIP_DEPLOYED_MODEL_ID, echoed in
	// answers on the predict route.
	DeployedModelID string
	// VertexModel is the model the Vertex AI predict route serves when the
	// request names none; empty means the only model loaded, and a request
	// that names none while several are loaded is refused (400).
	VertexModel string
	// Sampler receives sampled predictions for the drift check (nil: none).
	Sampler *Sampler
	// Logger for the server's lines (default slog.Default()).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxBody <= 0 {
		o.MaxBody = 4 << 20
	}
	if o.MaxInstances <= 0 {
		o.MaxInstances = DefaultMaxInstances
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.PredictRoute == "" {
		o.PredictRoute = "/predict"
	}
	if o.HealthRoute == "" {
		o.HealthRoute = "/health"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// entry is one model name's state: the version serving, the one it
// replaced (still answered by explicit version), or why nothing serves.
type entry struct {
	current  *Model
	previous *Model
	reason   string // why nothing serves (no version deployed, load failed)
}

// Counters are the server's running totals.
type Counters struct {
	Requests     int64 `json:"requests"`
	Instances    int64 `json:"instances"`
	Errors       int64 `json:"errors"`
	LoadFailures int64 `json:"load_failures"`
	Swaps        int64 `json:"swaps"`
}

// Server serves loaded models over TensorFlow Serving REST, KServe v2 and
// the Vertex AI custom-container contract, on one handler.
type Server struct {
	opts  Options
	mu    sync.Mutex // serializes writers of state
	state atomic.Pointer[map[string]*entry]
	ready atomic.Bool

	requests, instances, errors, loadFailures, swaps atomic.Int64
	stats                                            sync.Map // model+"@"+version -> *modelStats
}

// NewServer returns a server with no models.
func NewServer(opts Options) *Server {
	s := &Server{opts: opts.withDefaults()}
	empty := map[string]*entry{}
	s.state.Store(&empty)
	if s.opts.Sampler != nil {
		s.opts.Sampler.stats = s.statsOf
	}
	return s
}

// Counters returns the running totals.
func (s *Server) Counters() Counters {
	return Counters{Requests: s.requests.Load(), Instances: s.instances.Load(), Errors: s.errors.Load(),
		LoadFailures: s.loadFailures.Load(), Swaps: s.swaps.Load()}
}

// SetReady marks the server ready (the initial load is done).
func (s *Server) SetReady(v bool) { s.ready.Store(v) }

func (s *Server) update(name string, f func(e *entry)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.state.Load()
	next := make(map[string]*entry, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	e := &entry{}
	if prev := old[name]; prev != nil {
		*e = *prev
	}
	f(e)
	next[name] = e
	s.state.Store(&next)
}

// Install makes m the serving version of its model, atomically: requests
// that started on the previous version finish on it; new requests get m.
// The previous version stays reachable by its version number.
func (s *Server) Install(m *Model) {
	s.update(m.Name, func(e *entry) {
		if e.current != nil && e.current.Version != m.Version {
			e.previous = e.current
			s.swaps.Add(1)
		}
		e.current, e.reason = m, ""
	})
}

// Pending records a model that has nothing to serve yet, and why; requests
// for it get 503 with the reason. A model already serving keeps serving.
func (s *Server) Pending(name, reason string) {
	s.update(name, func(e *entry) {
		if e.current == nil {
			e.reason = reason
		}
	})
}

// RefuseLoad counts a refused artifact; the serving version (if any) stays.
func (s *Server) RefuseLoad(name string, err error) {
	s.loadFailures.Add(1)
	s.opts.Logger.Error("model refused; the serving version stays", "model", name, "error", err)
	s.Pending(name, "the deployed version could not be loaded: "+err.Error())
}

// Model returns the serving version of a model.
func (s *Server) Model(name string) (*Model, bool) {
	e := (*s.state.Load())[name]
	if e == nil || e.current == nil {
		return nil, false
	}
	return e.current, true
}

// Names lists the models the server knows, sorted.
func (s *Server) Names() []string {
	st := *s.state.Load()
	out := make([]string, 0, len(st))
	for k := range st {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// httpError is an answer other than 200.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) *httpError {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// lookup finds the model to run: the serving version, or an explicit
// version that is loaded ("3" or "v3").
func (s *Server) lookup(name, version string) (*Model, *httpError) {
	st := *s.state.Load()
	e := st[name]
	if e == nil {
		if len(st) == 0 {
			return nil, errorf(http.StatusServiceUnavailable, "no model is deployed yet")
		}
		return nil, errorf(http.StatusNotFound, "model %q not found", name)
	}
	if e.current == nil {
		reason := e.reason
		if reason == "" {
			reason = "no version is deployed yet"
		}
		return nil, errorf(http.StatusServiceUnavailable, "model %q is not available: %s", name, reason)
	}
	if version == "" {
		return e.current, nil
	}
	for _, m := range []*Model{e.current, e.previous} {
		if m != nil && (m.Version == version || VersionNumber(m.Version) == version) {
			return m, nil
		}
	}
	return nil, errorf(http.StatusNotFound, "model %q version %s is not loaded (serving %s)", name, version, VersionNumber(e.current.Version))
}

// ServeHTTP routes every protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == s.opts.PredictRoute && r.Method == http.MethodPost:
		s.vertexPredict(w, r)
	case p == s.opts.HealthRoute:
		s.health(w, r, true)
	case strings.HasPrefix(p, "/v1/models/"):
		s.v1(w, r, strings.TrimPrefix(p, "/v1/models/"))
	case p == "/v2/health/live":
		writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	case p == "/v2/health/ready":
		s.health(w, r, false)
	case p == "/v2":
		writeJSON(w, http.StatusOK, map[string]any{"name": "megapipe", "version": "1", "extensions": v2Extensions})
	case strings.HasPrefix(p, "/v2/models/"):
		s.v2(w, r, strings.TrimPrefix(p, "/v2/models/"))
	default:
		writeError(w, errorf(http.StatusNotFound, "no route %s %s", r.Method, p))
	}
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request, vertex bool) {
	serving := 0
	for _, e := range *s.state.Load() {
		if e.current != nil {
			serving++
		}
	}
	ok := s.ready.Load() && serving > 0
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	if vertex {
		writeJSON(w, code, map[string]any{"ready": ok, "models": serving})
		return
	}
	writeJSON(w, code, map[string]bool{"ready": ok})
}

// splitVersion splits "name[/versions/v]rest".
func splitVersion(p string) (name, version, rest string) {
	name, rest, _ = strings.Cut(p, "/")
	if after, ok := strings.CutPrefix(rest, "versions/"); ok {
		version, rest, _ = strings.Cut(after, "/")
	}
	return name, version, rest
}

func (s *Server) v1(w http.ResponseWriter, r *http.Request, p string) {
	if r.Method == http.MethodPost {
		head, verb, ok := cutLast(p, ':')
		if !ok || verb != "predict" {
			writeError(w, errorf(http.StatusNotFound, "unsupported verb %q: this server answers :predict", verb))
			return
		}
		name, version, rest := splitVersion(head)
		if rest != "" {
			writeError(w, errorf(http.StatusNotFound, "no route POST %s", r.URL.Path))
			return
		}
		s.predict(w, r, name, version, protoTF)
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, errorf(http.StatusMethodNotAllowed, "method %s not allowed", r.Method))
		return
	}
	name, version, rest := splitVersion(p)
	m, herr := s.lookup(name, version)
	if herr != nil && herr.code == http.StatusNotFound {
		writeError(w, herr)
		return
	}
	switch rest {
	case "":
		if herr != nil {
			writeJSON(w, http.StatusOK, map[string]any{"model_version_status": []any{map[string]any{
				"version": "0", "state": "LOADING", "status": map[string]string{"error_code": "UNAVAILABLE", "error_message": herr.msg}}}})
			return
		}
		st := []any{map[string]any{"version": VersionNumber(m.Version), "state": "AVAILABLE",
			"status": map[string]string{"error_code": "OK", "error_message": ""}}}
		writeJSON(w, http.StatusOK, map[string]any{"model_version_status": st})
	case "metadata":
		if herr != nil {
			writeError(w, herr)
			return
		}
		writeJSON(w, http.StatusOK, m.tfMetadata())
	default:
		writeError(w, errorf(http.StatusNotFound, "no route GET %s", r.URL.Path))
	}
}

func cutLast(s string, sep byte) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

func (m *Model) tfMetadata() any {
	type tensorInfo struct {
		Dtype       string         `json:"dtype"`
		TensorShape map[string]any `json:"tensor_shape"`
		Name        string         `json:"name"`
	}
	dims := func(d ...int) map[string]any {
		var out []map[string]string
		for _, x := range d {
			out = append(out, map[string]string{"size": fmt.Sprint(x), "name": ""})
		}
		return map[string]any{"dim": out, "unknown_rank": false}
	}
	inputs := map[string]tensorInfo{}
	for _, n := range m.names {
		dt := "DT_FLOAT"
		if m.Spec != nil {
			if f := m.Spec.Features[m.index[n]]; f.Type == "categorical" {
				dt = "DT_STRING"
			}
		}
		inputs[n] = tensorInfo{Dtype: dt, TensorShape: dims(-1), Name: n}
	}
	outputs := map[string]tensorInfo{}
	if m.Task == TaskRegression {
		outputs["value"] = tensorInfo{Dtype: "DT_FLOAT", TensorShape: dims(-1), Name: "value"}
	} else {
		outputs["label"] = tensorInfo{Dtype: "DT_STRING", TensorShape: dims(-1), Name: "label"}
		outputs["probabilities"] = tensorInfo{Dtype: "DT_FLOAT", TensorShape: dims(-1, len(m.Classes)), Name: "probabilities"}
	}
	return map[string]any{
		"model_spec": map[string]string{"name": m.Name, "signature_name": "", "version": VersionNumber(m.Version)},
		"metadata": map[string]any{"signature_def": map[string]any{
			"signature_def": map[string]any{"serving_default": map[string]any{
				"inputs": inputs, "outputs": outputs, "method_name": "tensorflow/serving/predict"}}}},
		"task":     m.Task,
		"classes":  m.Classes,
		"features": m.names,
		"sha256":   m.SHA256,
	}
}

type protocol int

const (
	protoTF protocol = iota
	protoVertex
	protoV2
)

func (s *Server) vertexPredict(w http.ResponseWriter, r *http.Request) {
	name, herr := s.vertexModel(r)
	if herr != nil {
		s.requests.Add(1)
		s.errors.Add(1)
		writeError(w, herr)
		return
	}
	s.predict(w, r, name, "", protoVertex)
}

// vertexModel chooses the model of a request on the Vertex AI route: the
// one the request names (?model=NAME or the X-Mega-Model header), else the
// one the deployment is for (Options.VertexModel, from a single
// MEGA_SERVE_MODELS name), else the only model loaded. With several models
// loaded and none named it is a 400 listing them: never the first by name
// (issue 17).
func (s *Server) vertexModel(r *http.Request) (string, *httpError) {
	if n := r.URL.Query().Get("model"); n != "" {
		return n, nil
	}
	if n := r.Header.Get("X-Mega-Model"); n != "" {
		return n, nil
	}
	if s.opts.VertexModel != "" {
		return s.opts.VertexModel, nil
	}
	names := s.Names()
	switch len(names) {
	case 0:
		return "", nil // lookup answers 503: nothing deployed
	case 1:
		return names[0], nil
	}
	return "", errorf(http.StatusBadRequest, "%d models are loaded (%s): name one with ?model=NAME or the X-Mega-Model header, or serve one model per deployment (MEGA_SERVE_MODELS)", len(names), strings.Join(names, ", "))
}

// readBody reads the request body into b.body within the size limit.
func (s *Server) readBody(r *http.Request, buf []byte) ([]byte, *httpError) {
	if r.ContentLength > s.opts.MaxBody {
		return buf, errorf(http.StatusRequestEntityTooLarge, "body of %d bytes exceeds the limit of %d", r.ContentLength, s.opts.MaxBody)
	}
	buf = buf[:0]
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength {
		buf = make([]byte, 0, r.ContentLength)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > s.opts.MaxBody {
			return buf, errorf(http.StatusRequestEntityTooLarge, "body exceeds the limit of %d bytes", s.opts.MaxBody)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, errorf(http.StatusBadRequest, "reading the body: %v", err)
		}
	}
}

type bodyBuf struct{ b []byte }

var bodies = sync.Pool{New: func() any { return &bodyBuf{b: make([]byte, 0, 4096)} }}

// predict runs one prediction request of any protocol.
func (s *Server) predict(w http.ResponseWriter, r *http.Request, name, version string, proto protocol) {
	start := time.Now()
	s.requests.Add(1)
	m, herr := s.lookup(name, version)
	if herr != nil {
		s.errors.Add(1)
		writeError(w, herr)
		return
	}
	bb := bodies.Get().(*bodyBuf)
	defer func() {
		if cap(bb.b) <= 1<<20 {
			bodies.Put(bb)
		}
	}()
	body, herr := s.readBody(r, bb.b)
	bb.b = body
	if herr != nil {
		s.errors.Add(1)
		writeError(w, herr)
		return
	}
	b := getBatch(m, s.opts.MaxInstances)
	defer putBatch(b)
	var (
		columnar bool
		err      error
		v2       *v2Request
	)
	switch proto {
	case protoV2:
		var js, bin []byte
		if js, bin, err = splitV2Body(r.Header, body); err == nil {
			v2, err = b.decodeV2(m, js, bin)
		}
	default:
		columnar, err = b.decodeTF(m, body)
	}
	if err == nil {
		err = b.encode(m, b.prefix(proto, columnar))
	}
	if err != nil {
		s.errors.Add(1)
		writeError(w, asHTTP(err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	if cap(b.out) < b.n*m.outputs {
		b.out = make([]float32, b.n*m.outputs)
	}
	b.out = b.out[:b.n*m.outputs]
	if err := m.Run(ctx, b.x, b.n, b.out); err != nil {
		s.errors.Add(1)
		code := http.StatusInternalServerError
		if errors.Is(err, ErrBusy) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			code = http.StatusServiceUnavailable
		}
		writeError(w, errorf(code, "%s", err.Error()))
		return
	}
	out := b.resp[:0]
	switch proto {
	case protoTF:
		if columnar {
			out = append(out, `{"outputs":`...)
			out = m.appendColumns(out, b.out, b.n)
		} else {
			out = append(out, `{"predictions":`...)
			out = m.appendPredictions(out, b.out, b.n)
		}
		out = append(out, `,"model":`...)
		out = appendString(out, m.Name)
		out = append(out, `,"model_version":`...)
		out = appendString(out, m.Version)
		out = append(out, '}')
	case protoVertex:
		out = append(out, `{"predictions":`...)
		out = m.appendPredictions(out, b.out, b.n)
		out = append(out, `,"deployedModelId":`...)
		out = appendString(out, s.opts.DeployedModelID)
		out = append(out, `,"model":`...)
		out = appendString(out, m.Name)
		out = append(out, `,"modelVersionId":`...)
		out = appendString(out, VersionNumber(m.Version))
		out = append(out, '}')
	case protoV2:
		if v2.anyBinary(m) {
			var hl int
			out, hl = m.appendV2Binary(out, v2, b.out, b.n)
			w.Header().Set(headerLength, strconv.Itoa(hl))
		} else {
			out = m.appendV2(out, v2, b.out, b.n)
		}
	}
	b.resp = out
	h := w.Header()
	h["Content-Type"] = jsonContentType
	if h.Get(headerLength) != "" {
		h["Content-Type"] = octetContentType
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	s.instances.Add(int64(b.n))
	s.record(m, b.n, time.Since(start))
	if sp := s.opts.Sampler; sp != nil {
		sp.sample(m, b, start)
	}
}

var (
	jsonContentType  = []string{"application/json"}
	octetContentType = []string{"application/octet-stream"}
)

func (b *batch) prefix(proto protocol, columnar bool) func(int) string {
	switch {
	case proto == protoV2:
		return func(i int) string { return fmt.Sprintf("inputs[row %d]", i) }
	case columnar:
		return func(i int) string { return fmt.Sprintf("inputs[%d]", i) }
	}
	return func(i int) string { return fmt.Sprintf("instances[%d]", i) }
}

func asHTTP(err error) *httpError {
	var ie *InputError
	if errors.As(err, &ie) {
		return &httpError{code: http.StatusBadRequest, msg: ie.Error()}
	}
	if errors.Is(err, errSyntax) {
		return &httpError{code: http.StatusBadRequest, msg: "body: " + err.Error()}
	}
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	return &httpError{code: http.StatusInternalServerError, msg: err.Error()}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *httpError) {
	if e.code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.code, map[string]string{"error": e.msg})
}
