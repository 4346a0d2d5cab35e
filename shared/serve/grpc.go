package serve

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/shared/serve/pb/inference"
)

// Handler returns the server's handler for a listener: REST over HTTP/1.1
// and HTTP/2 cleartext (h2c, as Cloud Run's end-to-end HTTP/2 sends), and
// gRPC (content-type application/grpc) on the same port: the KServe v2
// GRPCInferenceService, TensorFlow Serving's PredictionService and
// ModelService, and grpc.health.v1.Health.
func (s *Server) Handler() http.Handler {
	gs := s.GRPC()
	return h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			gs.ServeHTTP(w, r)
			return
		}
		s.ServeHTTP(w, r)
	}), &http2.Server{})
}

// GRPC returns a gRPC server with every service registered; its message
// limit is the body limit (MaxBody).
func (s *Server) GRPC() *grpc.Server {
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(int(s.opts.MaxBody)))
	inference.RegisterGRPCInferenceServiceServer(gs, &v2GRPC{s: s})
	registerTFServing(gs, s)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, &healthGRPC{s: s, fallback: hs})
	return gs
}

// healthGRPC answers grpc.health.v1 Check from the server's readiness (the
// service name is ignored: every service is as ready as the server); Watch
// is the stock implementation.
type healthGRPC struct {
	healthpb.UnimplementedHealthServer
	s        *Server
	fallback *health.Server
}

func (h *healthGRPC) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if h.s.isReady() {
		st = healthpb.HealthCheckResponse_SERVING
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

func (h *healthGRPC) List(ctx context.Context, r *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	return h.fallback.List(ctx, r)
}

func (h *healthGRPC) Watch(r *healthpb.HealthCheckRequest, w healthpb.Health_WatchServer) error {
	return h.fallback.Watch(r, w)
}

// isReady is the readiness of /v2/health/ready: the initial load is done and
// a model serves.
func (s *Server) isReady() bool {
	for _, e := range *s.state.Load() {
		if e.current != nil {
			return s.ready.Load()
		}
	}
	return false
}

// grpcCode maps the HTTP status of an error answer to its gRPC code.
func grpcCode(httpCode int) codes.Code {
	switch httpCode {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusRequestEntityTooLarge:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusMethodNotAllowed:
		return codes.Unimplemented
	}
	return codes.Internal
}

func grpcErr(e *httpError) error { return status.Error(grpcCode(e.code), e.msg) }

// runGRPC decodes (with decode), encodes and runs one gRPC prediction with
// the REST path's limits, deadline, counters and sampling; answer builds the
// response from the outputs.
func (s *Server) runGRPC(ctx context.Context, name, version string, decode func(m *Model, b *batch) error, answer func(m *Model, b *batch)) error {
	start := time.Now()
	s.requests.Add(1)
	m, herr := s.lookup(name, version)
	if herr != nil {
		s.errors.Add(1)
		return grpcErr(herr)
	}
	b := getBatch(m, s.opts.MaxInstances)
	defer putBatch(b)
	err := decode(m, b)
	if err == nil {
		err = b.encode(m, b.prefix(protoV2, false))
	}
	if err != nil {
		s.errors.Add(1)
		return grpcErr(asHTTP(err))
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if cap(b.out) < b.n*m.outputs {
		b.out = make([]float32, b.n*m.outputs)
	}
	b.out = b.out[:b.n*m.outputs]
	if err := m.Run(ctx, b.x, b.n, b.out); err != nil {
		s.errors.Add(1)
		code := codes.Internal
		if errors.Is(err, ErrBusy) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			code = codes.Unavailable
		}
		return status.Error(code, err.Error())
	}
	answer(m, b)
	s.instances.Add(int64(b.n))
	s.record(m, b.n, time.Since(start))
	if sp := s.opts.Sampler; sp != nil {
		sp.sample(m, b, start)
	}
	return nil
}

// outTensor is one output of an answer, in float32 or string form.
type outTensor struct {
	name, dt string
	shape    []int64
	f32      []float32
	str      []string
}

// outputs lists the answer's tensors for the requested names (all when
// want is nil).
func (m *Model) outputTensors(out []float32, n int, want func(string) bool) []outTensor {
	var ts []outTensor
	if m.Task == TaskRegression {
		if want == nil || want("value") {
			ts = append(ts, outTensor{name: "value", dt: "FP32", shape: []int64{int64(n)}, f32: append([]float32(nil), out[:n]...)})
		}
		return ts
	}
	if want == nil || want("probabilities") {
		t := outTensor{name: "probabilities", dt: "FP32", shape: []int64{int64(n), int64(len(m.Classes))}}
		for i := range n {
			o := out[i*m.outputs : (i+1)*m.outputs]
			if m.Task == TaskBinary {
				t.f32 = append(t.f32, 1-o[0], o[0])
			} else {
				t.f32 = append(t.f32, o...)
			}
		}
		ts = append(ts, t)
	}
	if want == nil || want("label") {
		t := outTensor{name: "label", dt: "BYTES", shape: []int64{int64(n)}}
		for i := range n {
			t.str = append(t.str, m.label(out[i*m.outputs:(i+1)*m.outputs]))
		}
		ts = append(ts, t)
	}
	return ts
}

// v2GRPC is the KServe v2 GRPCInferenceService.
type v2GRPC struct {
	inference.UnimplementedGRPCInferenceServiceServer
	s *Server
}

func (g *v2GRPC) ServerLive(context.Context, *inference.ServerLiveRequest) (*inference.ServerLiveResponse, error) {
	return &inference.ServerLiveResponse{Live: true}, nil
}

func (g *v2GRPC) ServerReady(context.Context, *inference.ServerReadyRequest) (*inference.ServerReadyResponse, error) {
	return &inference.ServerReadyResponse{Ready: g.s.isReady()}, nil
}

func (g *v2GRPC) ModelReady(_ context.Context, r *inference.ModelReadyRequest) (*inference.ModelReadyResponse, error) {
	_, herr := g.s.lookup(r.GetName(), r.GetVersion())
	if herr != nil && herr.code == http.StatusNotFound {
		return nil, grpcErr(herr)
	}
	return &inference.ModelReadyResponse{Ready: herr == nil}, nil
}

func (g *v2GRPC) ServerMetadata(context.Context, *inference.ServerMetadataRequest) (*inference.ServerMetadataResponse, error) {
	return &inference.ServerMetadataResponse{Name: "megapipe", Version: "1", Extensions: v2Extensions}, nil
}

func (g *v2GRPC) ModelMetadata(_ context.Context, r *inference.ModelMetadataRequest) (*inference.ModelMetadataResponse, error) {
	m, herr := g.s.lookup(r.GetName(), r.GetVersion())
	if herr != nil {
		return nil, grpcErr(herr)
	}
	out := &inference.ModelMetadataResponse{Name: m.Name, Versions: []string{VersionNumber(m.Version)}, Platform: "tflite"}
	for i, n := range m.names {
		dt := "FP32"
		if m.Spec != nil && m.Spec.Features[i].Type == "categorical" {
			dt = "BYTES"
		}
		out.Inputs = append(out.Inputs, &inference.ModelMetadataResponse_TensorMetadata{Name: n, Datatype: dt, Shape: []int64{-1}})
	}
	for _, t := range m.outputTensors(make([]float32, m.outputs), 1, nil) {
		t.shape[0] = -1
		out.Outputs = append(out.Outputs, &inference.ModelMetadataResponse_TensorMetadata{Name: t.name, Datatype: t.dt, Shape: t.shape})
	}
	return out, nil
}

// ModelInfer runs a request with raw_input_contents (the binary form, as
// tritonclient.grpc sends) or typed contents; the answer mirrors it: raw
// output contents for raw input, typed contents otherwise.
func (g *v2GRPC) ModelInfer(ctx context.Context, r *inference.ModelInferRequest) (*inference.ModelInferResponse, error) {
	var resp *inference.ModelInferResponse
	raw := len(r.GetRawInputContents()) > 0
	err := g.s.runGRPC(ctx, r.GetModelName(), r.GetModelVersion(), func(m *Model, b *batch) error {
		body, bin, err := v2FromProto(r)
		if err != nil {
			return err
		}
		_, err = b.decodeV2Body(m, body, bin)
		return err
	}, func(m *Model, b *batch) {
		var want func(string) bool
		if len(r.GetOutputs()) > 0 {
			want = func(n string) bool {
				for _, o := range r.GetOutputs() {
					if o.GetName() == n {
						return true
					}
				}
				return false
			}
		}
		resp = &inference.ModelInferResponse{ModelName: m.Name, ModelVersion: VersionNumber(m.Version), Id: r.GetId()}
		for _, t := range m.outputTensors(b.out, b.n, want) {
			o := &inference.ModelInferResponse_InferOutputTensor{Name: t.name, Datatype: t.dt, Shape: t.shape}
			if raw {
				var data []byte
				for _, v := range t.f32 {
					data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
				}
				for _, v := range t.str {
					data = binary.LittleEndian.AppendUint32(data, uint32(len(v)))
					data = append(data, v...)
				}
				resp.RawOutputContents = append(resp.RawOutputContents, data)
			} else {
				c := &inference.InferTensorContents{Fp32Contents: t.f32}
				for _, v := range t.str {
					c.BytesContents = append(c.BytesContents, []byte(v))
				}
				o.Contents = c
			}
			resp.Outputs = append(resp.Outputs, o)
		}
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// v2FromProto turns a gRPC inference request into the binary form of the
// REST request (v2Body and its binary part), so both share one decoder.
func v2FromProto(r *inference.ModelInferRequest) (*v2Body, []byte, error) {
	body := &v2Body{ID: r.GetId()}
	for i, o := range r.GetOutputs() {
		switch o.GetName() {
		case "probabilities", "label", "value":
		default:
			return nil, nil, inputErr(fmt.Sprintf("outputs[%d].name", i), "unknown output %q", o.GetName())
		}
		body.Outputs = append(body.Outputs, struct {
			Name       string `json:"name"`
			Parameters struct {
				BinaryData bool `json:"binary_data"`
			} `json:"parameters"`
		}{Name: o.GetName()})
	}
	raws := r.GetRawInputContents()
	if len(raws) > 0 && len(raws) != len(r.GetInputs()) {
		return nil, nil, inputErr("raw_input_contents", "%d entries for %d inputs: give raw contents for every input or for none", len(raws), len(r.GetInputs()))
	}
	var bin []byte
	for i, in := range r.GetInputs() {
		t := v2Tensor{Name: in.GetName(), Shape: in.GetShape(), Datatype: in.GetDatatype()}
		var data []byte
		if len(raws) > 0 {
			if c := in.GetContents(); c != nil && contentsCount(c) > 0 {
				return nil, nil, inputErr(fmt.Sprintf("inputs[%d].contents", i), "give contents or raw_input_contents, not both")
			}
			data = raws[i]
		} else {
			var err error
			if data, err = contentsBytes(in.GetContents(), in.GetDatatype(), fmt.Sprintf("inputs[%d].contents", i)); err != nil {
				return nil, nil, err
			}
		}
		sz := int64(len(data))
		t.Parameters.BinaryDataSize = &sz
		bin = append(bin, data...)
		body.Inputs = append(body.Inputs, t)
	}
	if bin == nil {
		bin = []byte{}
	}
	return body, bin, nil
}

func contentsCount(c *inference.InferTensorContents) int {
	return len(c.GetBoolContents()) + len(c.GetIntContents()) + len(c.GetInt64Contents()) + len(c.GetUintContents()) +
		len(c.GetUint64Contents()) + len(c.GetFp32Contents()) + len(c.GetFp64Contents()) + len(c.GetBytesContents())
}

// contentsBytes writes typed contents in the binary form of datatype dt,
// refusing contents in a field the datatype does not use.
func contentsBytes(c *inference.InferTensorContents, dt, field string) ([]byte, error) {
	var out []byte
	le := binary.LittleEndian
	n := 0
	rangeErr := func(v int64) error { return inputErr(field, "%d is out of range for %s", v, dt) }
	switch dt {
	case "BOOL":
		n = len(c.GetBoolContents())
		for _, v := range c.GetBoolContents() {
			out = append(out, map[bool]byte{false: 0, true: 1}[v])
		}
	case "INT8", "INT16", "INT32":
		n = len(c.GetIntContents())
		for _, v := range c.GetIntContents() {
			switch dt {
			case "INT8":
				if v < math.MinInt8 || v > math.MaxInt8 {
					return nil, rangeErr(int64(v))
				}
				out = append(out, byte(int8(v)))
			case "INT16":
				if v < math.MinInt16 || v > math.MaxInt16 {
					return nil, rangeErr(int64(v))
				}
				out = le.AppendUint16(out, uint16(int16(v)))
			default:
				out = le.AppendUint32(out, uint32(v))
			}
		}
	case "INT64":
		n = len(c.GetInt64Contents())
		for _, v := range c.GetInt64Contents() {
			out = le.AppendUint64(out, uint64(v))
		}
	case "UINT8", "UINT16", "UINT32":
		n = len(c.GetUintContents())
		for _, v := range c.GetUintContents() {
			switch dt {
			case "UINT8":
				if v > math.MaxUint8 {
					return nil, rangeErr(int64(v))
				}
				out = append(out, byte(v))
			case "UINT16":
				if v > math.MaxUint16 {
					return nil, rangeErr(int64(v))
				}
				out = le.AppendUint16(out, uint16(v))
			default:
				out = le.AppendUint32(out, v)
			}
		}
	case "UINT64":
		n = len(c.GetUint64Contents())
		for _, v := range c.GetUint64Contents() {
			out = le.AppendUint64(out, v)
		}
	case "FP32":
		n = len(c.GetFp32Contents())
		for _, v := range c.GetFp32Contents() {
			out = le.AppendUint32(out, math.Float32bits(v))
		}
	case "FP64":
		n = len(c.GetFp64Contents())
		for _, v := range c.GetFp64Contents() {
			out = le.AppendUint64(out, math.Float64bits(v))
		}
	case "BYTES":
		n = len(c.GetBytesContents())
		for _, v := range c.GetBytesContents() {
			out = le.AppendUint32(out, uint32(len(v)))
			out = append(out, v...)
		}
	default:
		return nil, inputErr(field, "datatype %q has no typed contents", dt)
	}
	if other := contentsCount(c) - n; other > 0 {
		return nil, inputErr(field, "%d values in contents fields that datatype %s does not use", other, dt)
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}
