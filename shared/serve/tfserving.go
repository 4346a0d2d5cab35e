package serve

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	tfs "github.com/megapipe/mega/shared/serve/pb/tfserving"
)

// TensorFlow Serving over gRPC: PredictionService.Predict and
// GetModelMetadata, ModelService.GetModelStatus. Predict takes the same
// inputs as KServe v2 (one tensor per feature, [n] or [n, 1], DT_STRING for
// categories, or one [n, features] numeric tensor), as TensorProto typed
// values or tensor_content, and answers "probabilities" and "label" (or
// "value") tensors, filtered by output_filter.

func registerTFServing(gs *grpc.Server, s *Server) {
	tfs.RegisterPredictionServiceServer(gs, &tfPredict{s: s})
	tfs.RegisterModelServiceServer(gs, &tfModels{s: s})
}

type tfPredict struct {
	tfs.UnimplementedPredictionServiceServer
	s *Server
}

type tfModels struct {
	tfs.UnimplementedModelServiceServer
	s *Server
}

// specVersion reads a ModelSpec's version (number or label "vN"/"N").
func specVersion(ms *tfs.ModelSpec) string {
	if v := ms.GetVersion(); v != nil {
		return strconv.FormatInt(v.GetValue(), 10)
	}
	return ms.GetVersionLabel()
}

func modelSpec(m *Model) *tfs.ModelSpec {
	spec := &tfs.ModelSpec{Name: m.Name, SignatureName: "serving_default"}
	if n, err := strconv.ParseInt(VersionNumber(m.Version), 10, 64); err == nil {
		spec.VersionChoice = &tfs.ModelSpec_Version{Version: wrapperspb.Int64(n)}
	}
	return spec
}

func (p *tfPredict) Predict(ctx context.Context, r *tfs.PredictRequest) (*tfs.PredictResponse, error) {
	var resp *tfs.PredictResponse
	ms := r.GetModelSpec()
	if sig := ms.GetSignatureName(); sig != "" && sig != "serving_default" {
		return nil, grpcErr(errorf(http.StatusBadRequest, "model_spec.signature_name: unknown signature %q (this model has serving_default)", sig))
	}
	err := p.s.runGRPC(ctx, ms.GetName(), specVersion(ms), func(m *Model, b *batch) error {
		for i, o := range r.GetOutputFilter() {
			if !m.hasOutput(o) {
				return inputErr(fmt.Sprintf("output_filter[%d]", i), "unknown output %q", o)
			}
		}
		body, bin, err := v2FromTensors(r.GetInputs())
		if err != nil {
			return err
		}
		_, err = b.decodeV2Body(m, body, bin)
		return err
	}, func(m *Model, b *batch) {
		var want func(string) bool
		if f := r.GetOutputFilter(); len(f) > 0 {
			want = func(n string) bool {
				for _, o := range f {
					if o == n {
						return true
					}
				}
				return false
			}
		}
		resp = &tfs.PredictResponse{ModelSpec: modelSpec(m), Outputs: map[string]*tfs.TensorProto{}}
		for _, t := range m.outputTensors(b.out, b.n, want) {
			tp := &tfs.TensorProto{TensorShape: shapeProto(t.shape)}
			if t.dt == "BYTES" {
				tp.Dtype = tfs.DataType_DT_STRING
				for _, s := range t.str {
					tp.StringVal = append(tp.StringVal, []byte(s))
				}
			} else {
				tp.Dtype, tp.FloatVal = tfs.DataType_DT_FLOAT, t.f32
			}
			resp.Outputs[t.name] = tp
		}
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func shapeProto(shape []int64) *tfs.TensorShapeProto {
	sp := &tfs.TensorShapeProto{}
	for _, d := range shape {
		sp.Dim = append(sp.Dim, &tfs.TensorShapeProto_Dim{Size: d})
	}
	return sp
}

// tfTypes maps TensorFlow dtypes to v2 datatypes.
var tfTypes = map[tfs.DataType]string{
	tfs.DataType_DT_FLOAT: "FP32", tfs.DataType_DT_DOUBLE: "FP64", tfs.DataType_DT_INT32: "INT32",
	tfs.DataType_DT_UINT8: "UINT8", tfs.DataType_DT_INT16: "INT16", tfs.DataType_DT_INT8: "INT8",
	tfs.DataType_DT_STRING: "BYTES", tfs.DataType_DT_INT64: "INT64", tfs.DataType_DT_BOOL: "BOOL",
	tfs.DataType_DT_UINT16: "UINT16", tfs.DataType_DT_UINT32: "UINT32", tfs.DataType_DT_UINT64: "UINT64",
}

// v2FromTensors turns TensorFlow Serving inputs (sorted by name) into the
// binary form of a KServe v2 request.
func v2FromTensors(inputs map[string]*tfs.TensorProto) (*v2Body, []byte, error) {
	names := make([]string, 0, len(inputs))
	for n := range inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	body := &v2Body{}
	bin := []byte{}
	for _, name := range names {
		tp := inputs[name]
		field := "inputs[" + strconv.Quote(name) + "]"
		dt, ok := tfTypes[tp.GetDtype()]
		if !ok {
			return nil, nil, inputErr(field+".dtype", "dtype %s is not supported", tp.GetDtype())
		}
		var shape []int64
		for _, d := range tp.GetTensorShape().GetDim() {
			shape = append(shape, d.GetSize())
		}
		data, dt, err := tensorBytes(tp, dt, field)
		if err != nil {
			return nil, nil, err
		}
		t := v2Tensor{Name: name, Shape: shape, Datatype: dt}
		sz := int64(len(data))
		t.Parameters.BinaryDataSize = &sz
		bin = append(bin, data...)
		body.Inputs = append(body.Inputs, t)
	}
	return body, bin, nil
}

// tensorBytes writes a TensorProto's values in the v2 binary form of dt:
// tensor_content as it is (TensorFlow's layout is little-endian row-major),
// else the typed field.
// Values of int_val are widened to INT64, the datatype returned.
func tensorBytes(tp *tfs.TensorProto, dt, field string) ([]byte, string, error) {
	if c := tp.GetTensorContent(); len(c) > 0 {
		if dt == "BYTES" {
			return nil, "", inputErr(field, "DT_STRING tensors carry string_val, not tensor_content")
		}
		return c, dt, nil
	}
	var out []byte
	le := binary.LittleEndian
	n := 0
	switch dt {
	case "FP32":
		for _, v := range tp.GetFloatVal() {
			out = le.AppendUint32(out, math.Float32bits(v))
		}
		n = len(tp.GetFloatVal())
	case "FP64":
		for _, v := range tp.GetDoubleVal() {
			out = le.AppendUint64(out, math.Float64bits(v))
		}
		n = len(tp.GetDoubleVal())
	case "INT8", "UINT8", "INT16", "UINT16", "INT32":
		for _, v := range tp.GetIntVal() {
			out = le.AppendUint64(out, uint64(int64(v)))
		}
		n, dt = len(tp.GetIntVal()), "INT64"
	case "INT64":
		for _, v := range tp.GetInt64Val() {
			out = le.AppendUint64(out, uint64(v))
		}
		n = len(tp.GetInt64Val())
	case "UINT32":
		for _, v := range tp.GetUint32Val() {
			out = le.AppendUint32(out, v)
		}
		n = len(tp.GetUint32Val())
	case "UINT64":
		for _, v := range tp.GetUint64Val() {
			out = le.AppendUint64(out, v)
		}
		n = len(tp.GetUint64Val())
	case "BOOL":
		for _, v := range tp.GetBoolVal() {
			out = append(out, map[bool]byte{false: 0, true: 1}[v])
		}
		n = len(tp.GetBoolVal())
	case "BYTES":
		for _, v := range tp.GetStringVal() {
			out = le.AppendUint32(out, uint32(len(v)))
			out = append(out, v...)
		}
		n = len(tp.GetStringVal())
	}
	all := len(tp.GetFloatVal()) + len(tp.GetDoubleVal()) + len(tp.GetIntVal()) + len(tp.GetInt64Val()) + len(tp.GetUint32Val()) +
		len(tp.GetUint64Val()) + len(tp.GetBoolVal()) + len(tp.GetStringVal()) + len(tp.GetHalfVal())
	if all != n {
		return nil, "", inputErr(field, "%d values in fields that dtype %s does not use", all-n, tp.GetDtype())
	}
	if out == nil {
		out = []byte{}
	}
	return out, dt, nil
}

func (p *tfPredict) GetModelMetadata(_ context.Context, r *tfs.GetModelMetadataRequest) (*tfs.GetModelMetadataResponse, error) {
	for i, f := range r.GetMetadataField() {
		if f != "signature_def" {
			return nil, grpcErr(errorf(http.StatusBadRequest, "metadata_field[%d]: unknown field %q (this server has signature_def)", i, f))
		}
	}
	m, herr := p.s.lookup(r.GetModelSpec().GetName(), specVersion(r.GetModelSpec()))
	if herr != nil {
		return nil, grpcErr(herr)
	}
	info := func(name string, dt tfs.DataType, shape ...int64) *tfs.TensorInfo {
		return &tfs.TensorInfo{Encoding: &tfs.TensorInfo_Name{Name: name}, Dtype: dt, TensorShape: shapeProto(shape)}
	}
	sig := &tfs.SignatureDef{Inputs: map[string]*tfs.TensorInfo{}, Outputs: map[string]*tfs.TensorInfo{}, MethodName: "tensorflow/serving/predict"}
	for i, n := range m.names {
		dt := tfs.DataType_DT_FLOAT
		if m.Spec != nil && m.Spec.Features[i].Type == "categorical" {
			dt = tfs.DataType_DT_STRING
		}
		sig.Inputs[n] = info(n, dt, -1)
	}
	for _, t := range m.outputTensors(make([]float32, m.outputs), 1, nil) {
		t.shape[0] = -1
		dt := tfs.DataType_DT_FLOAT
		if t.dt == "BYTES" {
			dt = tfs.DataType_DT_STRING
		}
		sig.Outputs[t.name] = info(t.name, dt, t.shape...)
	}
	a, err := anypb.New(&tfs.SignatureDefMap{SignatureDef: map[string]*tfs.SignatureDef{"serving_default": sig}})
	if err != nil {
		return nil, grpcErr(errorf(http.StatusInternalServerError, "encoding the metadata: %v", err))
	}
	return &tfs.GetModelMetadataResponse{ModelSpec: modelSpec(m), Metadata: map[string]*anypb.Any{"signature_def": a}}, nil
}

func (p *tfModels) GetModelStatus(_ context.Context, r *tfs.GetModelStatusRequest) (*tfs.GetModelStatusResponse, error) {
	m, herr := p.s.lookup(r.GetModelSpec().GetName(), specVersion(r.GetModelSpec()))
	if herr != nil && herr.code == http.StatusNotFound {
		return nil, grpcErr(herr)
	}
	if herr != nil {
		return &tfs.GetModelStatusResponse{ModelVersionStatus: []*tfs.ModelVersionStatus{{State: tfs.ModelVersionStatus_LOADING,
			Status: &tfs.StatusProto{ErrorCode: tfs.Code_UNAVAILABLE, ErrorMessage: herr.msg}}}}, nil
	}
	v, _ := strconv.ParseInt(VersionNumber(m.Version), 10, 64)
	return &tfs.GetModelStatusResponse{ModelVersionStatus: []*tfs.ModelVersionStatus{{Version: v, State: tfs.ModelVersionStatus_AVAILABLE,
		Status: &tfs.StatusProto{ErrorCode: tfs.Code_OK}}}}, nil
}
