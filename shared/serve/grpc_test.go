package serve

import (
	"context"
	"encoding/binary"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/serve/pb/inference"
	tfs "github.com/megapipe/mega/shared/serve/pb/tfserving"
	"github.com/megapipe/mega/shared/tflite"
)

// grpcServer serves s.Handler() on a loopback listener (HTTP/1.1 and h2c on
// one port) and returns a gRPC client connection and the base URL.
func grpcServer(t *testing.T, s *Server) (*grpc.ClientConn, string) {
	t.Helper()
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	cc, err := grpc.NewClient(strings.TrimPrefix(hs.URL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc, hs.URL
}

// binRowsWant is what the server must answer for binRows: the interpreter
// run directly on the rows encoded by package features.
func binRowsWant(t *testing.T, model []byte) ([][]float32, []string) {
	t.Helper()
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	var raw [][]float32
	for _, r := range binRows {
		x := make([]float32, spec.Width())
		if err := spec.EncodeObject(map[string]any{"age": float64(r.age), "plan": r.plan, "income": r.income}, x); err != nil {
			t.Fatal(err)
		}
		raw = append(raw, direct(t, model, x))
	}
	probs, labels, _ := wantOutputs(TaskMulticlass, raw)
	return probs, labels
}

func rows(flat []float32, k int) [][]float32 {
	var out [][]float32
	for i := 0; i+k <= len(flat); i += k {
		out = append(out, flat[i:i+k])
	}
	return out
}

func TestGRPCKServeV2(t *testing.T) {
	model := fcModel(t, 3, tflite.OpSoftmax)
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	s := newTestServer(t, ModelConfig{Name: "m", Version: "v4", TFLite: model, Spec: spec})
	cc, base := grpcServer(t, s)
	c := inference.NewGRPCInferenceServiceClient(cc)
	ctx := context.Background()
	wantProbs, wantLabels := binRowsWant(t, model)

	ts := binRowsTensors()
	raw := &inference.ModelInferRequest{ModelName: "m", Id: "r1"}
	for _, in := range ts {
		var shape []int64
		for _, d := range in.shape {
			shape = append(shape, int64(d))
		}
		raw.Inputs = append(raw.Inputs, &inference.ModelInferRequest_InferInputTensor{Name: in.name, Datatype: in.dt, Shape: shape})
		raw.RawInputContents = append(raw.RawInputContents, in.raw)
	}
	resp, err := c.ModelInfer(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetModelVersion() != "4" || resp.GetId() != "r1" || len(resp.GetRawOutputContents()) != 2 {
		t.Fatalf("answer %v", resp)
	}
	var probs []float32
	for p := resp.RawOutputContents[0]; len(p) >= 4; p = p[4:] {
		probs = append(probs, math.Float32frombits(binary.LittleEndian.Uint32(p)))
	}
	var labels []string
	for p := resp.RawOutputContents[1]; len(p) >= 4; {
		n := int(binary.LittleEndian.Uint32(p))
		labels, p = append(labels, string(p[4:4+n])), p[4+n:]
	}
	if diff := cmp.Diff(wantProbs, rows(probs, 3)); diff != "" {
		t.Errorf("raw probabilities (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantLabels, labels); diff != "" {
		t.Errorf("raw labels (-want +got):\n%s", diff)
	}

	typed := &inference.ModelInferRequest{ModelName: "m", ModelVersion: "4",
		Outputs: []*inference.ModelInferRequest_InferRequestedOutputTensor{{Name: "probabilities"}}}
	var ages []int32
	var plans [][]byte
	var incomes []float64
	for _, r := range binRows {
		ages, plans, incomes = append(ages, r.age), append(plans, []byte(r.plan)), append(incomes, r.income)
	}
	n := int64(len(binRows))
	typed.Inputs = []*inference.ModelInferRequest_InferInputTensor{
		{Name: "age", Datatype: "INT32", Shape: []int64{n}, Contents: &inference.InferTensorContents{IntContents: ages}},
		{Name: "plan", Datatype: "BYTES", Shape: []int64{n}, Contents: &inference.InferTensorContents{BytesContents: plans}},
		{Name: "income", Datatype: "FP64", Shape: []int64{n, 1}, Contents: &inference.InferTensorContents{Fp64Contents: incomes}},
	}
	resp, err = c.ModelInfer(ctx, typed)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Outputs) != 1 || resp.Outputs[0].GetName() != "probabilities" || len(resp.RawOutputContents) != 0 {
		t.Fatalf("answer %v", resp)
	}
	if diff := cmp.Diff(wantProbs, rows(resp.Outputs[0].GetContents().GetFp32Contents(), 3)); diff != "" {
		t.Errorf("typed probabilities (-want +got):\n%s", diff)
	}

	live, err := c.ServerLive(ctx, &inference.ServerLiveRequest{})
	if err != nil || !live.GetLive() {
		t.Errorf("ServerLive %v %v", live, err)
	}
	ready, err := c.ServerReady(ctx, &inference.ServerReadyRequest{})
	if err != nil || !ready.GetReady() {
		t.Errorf("ServerReady %v %v", ready, err)
	}
	mr, err := c.ModelReady(ctx, &inference.ModelReadyRequest{Name: "m"})
	if err != nil || !mr.GetReady() {
		t.Errorf("ModelReady %v %v", mr, err)
	}
	sm, err := c.ServerMetadata(ctx, &inference.ServerMetadataRequest{})
	if err != nil || !cmp.Equal(sm.GetExtensions(), []string{"binary_tensor_data"}) {
		t.Errorf("ServerMetadata %v %v", sm, err)
	}
	md, err := c.ModelMetadata(ctx, &inference.ModelMetadataRequest{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	wantMD := &inference.ModelMetadataResponse{Name: "m", Versions: []string{"4"}, Platform: "tflite",
		Inputs: []*inference.ModelMetadataResponse_TensorMetadata{{Name: "age", Datatype: "FP32", Shape: []int64{-1}},
			{Name: "plan", Datatype: "BYTES", Shape: []int64{-1}}, {Name: "income", Datatype: "FP32", Shape: []int64{-1}}},
		Outputs: []*inference.ModelMetadataResponse_TensorMetadata{{Name: "probabilities", Datatype: "FP32", Shape: []int64{-1, 3}},
			{Name: "label", Datatype: "BYTES", Shape: []int64{-1}}}}
	if diff := cmp.Diff(wantMD, md, protocmp.Transform()); diff != "" {
		t.Errorf("ModelMetadata (-want +got):\n%s", diff)
	}
	hc, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health %v %v", hc, err)
	}

	// REST on the same port, over HTTP/1.1.
	r, err := http.Get(base + "/v2/health/ready")
	if err != nil || r.StatusCode != 200 || r.ProtoMajor != 1 {
		t.Errorf("REST on the gRPC port: %v %v", r, err)
	}
	if r != nil {
		r.Body.Close()
	}
}

func TestGRPCTFServing(t *testing.T) {
	model := fcModel(t, 3, tflite.OpSoftmax)
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	s := newTestServer(t, ModelConfig{Name: "m", Version: "v4", TFLite: model, Spec: spec})
	cc, _ := grpcServer(t, s)
	p := tfs.NewPredictionServiceClient(cc)
	ctx := context.Background()
	wantProbs, wantLabels := binRowsWant(t, model)
	n := int64(len(binRows))
	shape := &tfs.TensorShapeProto{Dim: []*tfs.TensorShapeProto_Dim{{Size: n}}}
	var ages []int64
	var plans [][]byte
	var incomes []byte
	for _, r := range binRows {
		ages, plans = append(ages, int64(r.age)), append(plans, []byte(r.plan))
		incomes = binary.LittleEndian.AppendUint32(incomes, math.Float32bits(float32(r.income)))
	}
	req := &tfs.PredictRequest{ModelSpec: &tfs.ModelSpec{Name: "m", VersionChoice: &tfs.ModelSpec_Version{Version: wrapperspb.Int64(4)}},
		Inputs: map[string]*tfs.TensorProto{
			"age":    {Dtype: tfs.DataType_DT_INT64, TensorShape: shape, Int64Val: ages},
			"plan":   {Dtype: tfs.DataType_DT_STRING, TensorShape: shape, StringVal: plans},
			"income": {Dtype: tfs.DataType_DT_FLOAT, TensorShape: shape, TensorContent: incomes},
		}}
	resp, err := p.Predict(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantProbs, rows(resp.Outputs["probabilities"].GetFloatVal(), 3)); diff != "" {
		t.Errorf("probabilities (-want +got):\n%s", diff)
	}
	var labels []string
	for _, l := range resp.Outputs["label"].GetStringVal() {
		labels = append(labels, string(l))
	}
	if diff := cmp.Diff(wantLabels, labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if v := resp.GetModelSpec().GetVersion().GetValue(); v != 4 {
		t.Errorf("model_spec.version %d", v)
	}
	req.OutputFilter = []string{"label"}
	resp, err = p.Predict(ctx, req)
	if err != nil || len(resp.Outputs) != 1 || resp.Outputs["label"] == nil {
		t.Errorf("output_filter label: %v %v", resp, err)
	}

	md, err := p.GetModelMetadata(ctx, &tfs.GetModelMetadataRequest{ModelSpec: &tfs.ModelSpec{Name: "m"}, MetadataField: []string{"signature_def"}})
	if err != nil {
		t.Fatal(err)
	}
	var sigs tfs.SignatureDefMap
	if err := md.Metadata["signature_def"].UnmarshalTo(&sigs); err != nil {
		t.Fatal(err)
	}
	sig := sigs.SignatureDef["serving_default"]
	if sig.GetInputs()["plan"].GetDtype() != tfs.DataType_DT_STRING || sig.GetOutputs()["probabilities"].GetTensorShape().GetDim()[1].GetSize() != 3 ||
		sig.GetMethodName() != "tensorflow/serving/predict" {
		t.Errorf("signature_def %v", sig)
	}
	st, err := tfs.NewModelServiceClient(cc).GetModelStatus(ctx, &tfs.GetModelStatusRequest{ModelSpec: &tfs.ModelSpec{Name: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &tfs.GetModelStatusResponse{ModelVersionStatus: []*tfs.ModelVersionStatus{{Version: 4, State: tfs.ModelVersionStatus_AVAILABLE, Status: &tfs.StatusProto{}}}}
	if diff := cmp.Diff(want, st, protocmp.Transform()); diff != "" {
		t.Errorf("GetModelStatus (-want +got):\n%s", diff)
	}
}

// Bad gRPC requests get the gRPC code matching the REST status and the same
// message.
func TestGRPCBadInput(t *testing.T) {
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	s := NewServer(Options{MaxBody: 4096, MaxInstances: 8})
	m, err := LoadModel(ModelConfig{Name: "m", Version: "v1", TFLite: fcModel(t, 3, tflite.OpSoftmax), Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	s.Install(m)
	s.SetReady(true)
	cc, _ := grpcServer(t, s)
	c := inference.NewGRPCInferenceServiceClient(cc)
	p := tfs.NewPredictionServiceClient(cc)
	in := func(name, dt string, shape []int64, c *inference.InferTensorContents) *inference.ModelInferRequest_InferInputTensor {
		return &inference.ModelInferRequest_InferInputTensor{Name: name, Datatype: dt, Shape: shape, Contents: c}
	}
	one := []int64{1}
	fp := func(v ...float32) *inference.InferTensorContents {
		return &inference.InferTensorContents{Fp32Contents: v}
	}
	by := func(v string) *inference.InferTensorContents {
		return &inference.InferTensorContents{BytesContents: [][]byte{[]byte(v)}}
	}
	good := func() []*inference.ModelInferRequest_InferInputTensor {
		return []*inference.ModelInferRequest_InferInputTensor{in("age", "FP32", one, fp(1)), in("plan", "BYTES", one, by("pro")), in("income", "FP32", one, fp(2))}
	}
	tests := []struct {
		name string
		call func() error
		code codes.Code
		err  string
	}{
		{"unknown model", func() error {
			_, err := c.ModelInfer(context.Background(), &inference.ModelInferRequest{ModelName: "x", Inputs: good()})
			return err
		}, codes.NotFound, `model "x" not found`},
		{"wrong datatype", func() error {
			ins := good()
			ins[1] = in("plan", "FP32", one, fp(3))
			_, err := c.ModelInfer(context.Background(), &inference.ModelInferRequest{ModelName: "m", Inputs: ins})
			return err
		}, codes.InvalidArgument, `inputs[row 0].plan: want a category (string), got a number`},
		{"contents in the wrong field", func() error {
			ins := good()
			ins[0] = in("age", "INT32", one, fp(3))
			_, err := c.ModelInfer(context.Background(), &inference.ModelInferRequest{ModelName: "m", Inputs: ins})
			return err
		}, codes.InvalidArgument, `inputs[0].contents: 1 values in contents fields that datatype INT32 does not use`},
		{"shape and size", func() error {
			ins := good()
			ins[0] = in("age", "FP32", one, fp(3, 4))
			_, err := c.ModelInfer(context.Background(), &inference.ModelInferRequest{ModelName: "m", Inputs: ins})
			return err
		}, codes.InvalidArgument, `inputs[0].data: 8 bytes of FP32, the shape needs 4 (1 values)`},
		{"raw count", func() error {
			_, err := c.ModelInfer(context.Background(), &inference.ModelInferRequest{ModelName: "m", Inputs: good()[:2], RawInputContents: [][]byte{leF32(1)}})
			return err
		}, codes.InvalidArgument, `raw_input_contents: 1 entries for 2 inputs`},
		{"truncated raw bytes", func() error {
			_, err := c.ModelInfer(context.Background(), &inference.ModelInferRequest{ModelName: "m",
				Inputs:           []*inference.ModelInferRequest_InferInputTensor{in("plan", "BYTES", one, nil)},
				RawInputContents: [][]byte{{9, 0, 0, 0, 'p'}}})
			return err
		}, codes.InvalidArgument, `BYTES element 0: length 9, but only 1 bytes remain`},
		{"oversize", func() error {
			_, err := c.ModelInfer(context.Background(), &inference.ModelInferRequest{ModelName: "m", Inputs: good(), Id: strings.Repeat("x", 5000)})
			return err
		}, codes.ResourceExhausted, `larger than max`},
		{"too many instances", func() error {
			_, err := c.ModelInfer(context.Background(), &inference.ModelInferRequest{ModelName: "m",
				Inputs: []*inference.ModelInferRequest_InferInputTensor{in("x", "FP32", []int64{9, 3}, fp(make([]float32, 27)...))}})
			return err
		}, codes.InvalidArgument, `more than 8 instances in one request`},
		{"tf unknown version", func() error {
			_, err := p.Predict(context.Background(), &tfs.PredictRequest{ModelSpec: &tfs.ModelSpec{Name: "m", VersionChoice: &tfs.ModelSpec_Version{Version: wrapperspb.Int64(7)}}})
			return err
		}, codes.NotFound, `version 7 is not loaded`},
		{"tf wrong dtype", func() error {
			_, err := p.Predict(context.Background(), &tfs.PredictRequest{ModelSpec: &tfs.ModelSpec{Name: "m"}, Inputs: map[string]*tfs.TensorProto{
				"age": {Dtype: tfs.DataType_DT_HALF}}})
			return err
		}, codes.InvalidArgument, `inputs["age"].dtype: dtype DT_HALF is not supported`},
		{"tf values for shape", func() error {
			sh := &tfs.TensorShapeProto{Dim: []*tfs.TensorShapeProto_Dim{{Size: 2}}}
			_, err := p.Predict(context.Background(), &tfs.PredictRequest{ModelSpec: &tfs.ModelSpec{Name: "m"}, Inputs: map[string]*tfs.TensorProto{
				"age": {Dtype: tfs.DataType_DT_FLOAT, TensorShape: sh, FloatVal: []float32{1}}}})
			return err
		}, codes.InvalidArgument, `inputs[0].data: 4 bytes of FP32, the shape needs 8 (2 values)`},
		{"tf unknown output", func() error {
			_, err := p.Predict(context.Background(), &tfs.PredictRequest{ModelSpec: &tfs.ModelSpec{Name: "m"}, OutputFilter: []string{"scores"}})
			return err
		}, codes.InvalidArgument, `output_filter[0]: unknown output "scores"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			st, _ := status.FromError(err)
			if st.Code() != tc.code || !strings.Contains(st.Message(), tc.err) {
				t.Errorf("got %v %q\nwant %v containing %q", st.Code(), st.Message(), tc.code, tc.err)
			}
		})
	}

	// Nothing deployed: Unavailable, and health says NOT_SERVING.
	empty := NewServer(Options{})
	cc2, _ := grpcServer(t, empty)
	_, err = inference.NewGRPCInferenceServiceClient(cc2).ModelInfer(context.Background(), &inference.ModelInferRequest{ModelName: "m"})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("nothing deployed: %v, want Unavailable", err)
	}
	hc, err := healthpb.NewHealthClient(cc2).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health %v %v", hc, err)
	}
}
