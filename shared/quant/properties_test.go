package quant_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/tflite"
	"github.com/megapipe/mega/shared/tflite/tflitetest"
)

// The tests below assert, on the converter's own test models, the
// properties that LiteRT's tflite/converter/quantization/lite/
// quantize_model_test.cc asserts on its quantizer's output (full integer,
// int8 inputs and outputs, as its QuantizeModelAllOperators(INT8, INT8)).

func loadConformance(t *testing.T, name string) *tflite.Model {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tflitetest.Dir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := tflite.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func quantizeInt8(t *testing.T, m *tflite.Model) *tflite.Model {
	t.Helper()
	q, _, err := quant.Quantize(context.Background(), m, nil, quant.Options{IO: quant.Int8IO})
	if err != nil {
		t.Fatalf("Quantize: %v", err)
	}
	return q
}

// verifyScale is the origin's VerifyQuantizationScale for 8 bits, asymmetric:
// scale == (max(0,max) - min(0,min)) / 255 within 1e-7.
func verifyScale(t *testing.T, what string, float, q *tflite.Quantization) {
	t.Helper()
	if float == nil || len(float.Min) != 1 || len(float.Max) != 1 {
		t.Fatalf("%s: float model has no single min/max", what)
	}
	if q == nil || len(q.Scale) != 1 || len(q.ZeroPoint) != 1 {
		t.Fatalf("%s: quantization %+v, want one scale and one zero point", what, q)
	}
	lo, hi := min(float32(0), float.Min[0]), max(float32(0), float.Max[0])
	want := (hi - lo) / 255
	if math.Abs(float64(want-q.Scale[0])) > 1e-7 {
		t.Errorf("%s: scale %v, want (max-min)/255 = %v", what, q.Scale[0], want)
	}
}

func opVersions(m *tflite.Model) map[tflite.BuiltinOperator]int {
	out := map[tflite.BuiltinOperator]int{}
	for _, oc := range m.OperatorCodes {
		out[oc.Builtin] = oc.Version
	}
	return out
}

func wantCodes(t *testing.T, m *tflite.Model, want map[tflite.BuiltinOperator]int) {
	t.Helper()
	got := opVersions(m)
	if len(m.OperatorCodes) != len(want) {
		t.Errorf("%d operator codes %v, want %v", len(m.OperatorCodes), got, want)
	}
	for op, v := range want {
		if got[op] != v {
			t.Errorf("%s version %d, want %d", op, got[op], v)
		}
	}
}

func TestConverterPropertiesConv(t *testing.T) {
	f := loadConformance(t, "quant_single_conv_weights_min_0_max_plus_10.bin")
	conv0to6(f)
	q := quantizeInt8(t, f)
	sg, fsg := q.Subgraphs[0], f.Subgraphs[0]
	op, fop := sg.Operators[0], fsg.Operators[0]
	in, w, bias, out := sg.Tensors[op.Inputs[0]], sg.Tensors[op.Inputs[1]], sg.Tensors[op.Inputs[2]], sg.Tensors[op.Outputs[0]]
	if in.Type != tflite.Int8 || w.Type != tflite.Int8 || bias.Type != tflite.Int32 || out.Type != tflite.Int8 {
		t.Fatalf("types in %s weights %s bias %s out %s, want INT8 INT8 INT32 INT8", in.Type, w.Type, bias.Type, out.Type)
	}
	channels := w.Shape[0]
	if len(w.Quantization.Scale) != channels || len(w.Quantization.ZeroPoint) != channels || len(bias.Quantization.Scale) != channels {
		t.Fatalf("weights %d scales / %d zero points, bias %d scales; want %d each", len(w.Quantization.Scale),
			len(w.Quantization.ZeroPoint), len(bias.Quantization.Scale), channels)
	}
	if len(in.Quantization.Scale) != 1 || len(out.Quantization.Scale) != 1 {
		t.Errorf("input/output must be per tensor")
	}
	sIn := in.Quantization.Scale[0]
	fb, _ := tflite.Float32s(f.Data(0, fop.Inputs[2]))
	qb, _ := tflite.Int32s(q.Data(0, op.Inputs[2]))
	for c := range channels {
		bs := bias.Quantization.Scale[c]
		if d := math.Abs(float64(bs - sIn*w.Quantization.Scale[c])); d > 1e-7 {
			t.Errorf("bias scale[%d] %v, want input scale * weight scale = %v", c, bs, sIn*w.Quantization.Scale[c])
		}
		if d := math.Abs(float64(float32(qb[c])*bs - fb[c])); d > float64(bs/2) {
			t.Errorf("bias[%d] dequantizes to %v, float %v (more than scale/2 away)", c, float32(qb[c])*bs, fb[c])
		}
	}
	fw, _ := tflite.Float32s(f.Data(0, fop.Inputs[1]))
	qw := tflite.Int8s(q.Data(0, op.Inputs[1]))
	per := len(qw) / channels
	for i := range qw {
		c := i / per
		s := w.Quantization.Scale[c]
		if w.Quantization.ZeroPoint[c] != 0 {
			t.Fatalf("weight zero point[%d] = %d, want 0", c, w.Quantization.ZeroPoint[c])
		}
		if d := math.Abs(float64(float32(qw[i])*s - fw[i])); d > float64(s/2) {
			t.Errorf("weight %d dequantizes to %v, float %v", i, float32(qw[i])*s, fw[i])
		}
	}
	for i, tn := range sg.Tensors {
		if tn.Type != tflite.Int8 && tn.Type != tflite.Int32 {
			t.Errorf("tensor %d %q is %s: the graph is not fully quantized", i, tn.Name, tn.Type)
		}
	}
	wantCodes(t, q, map[tflite.BuiltinOperator]int{tflite.OpConv2D: 3})
}

func TestConverterPropertiesSoftmax(t *testing.T) {
	f := loadConformance(t, "quant_single_softmax_min_minus_5_max_plus_5.bin")
	q := quantizeInt8(t, f)
	op := q.Subgraphs[0].Operators[0]
	in, out := q.Subgraphs[0].Tensors[op.Inputs[0]], q.Subgraphs[0].Tensors[op.Outputs[0]]
	if in.Type != tflite.Int8 || out.Type != tflite.Int8 {
		t.Fatalf("types %s -> %s, want INT8", in.Type, out.Type)
	}
	verifyScale(t, "softmax input", f.Subgraphs[0].Tensors[op.Inputs[0]].Quantization, in.Quantization)
	if out.Quantization.Scale[0] != 1.0/256 || out.Quantization.ZeroPoint[0] != -128 {
		t.Errorf("softmax output scale %v zero point %d, want exactly 1/256 and -128", out.Quantization.Scale[0], out.Quantization.ZeroPoint[0])
	}
	wantCodes(t, q, map[tflite.BuiltinOperator]int{tflite.OpSoftmax: 2})
}

func TestConverterPropertiesAvgPool(t *testing.T) {
	f := loadConformance(t, "quant_single_avg_pool_min_minus_5_max_plus_5.bin")
	q := quantizeInt8(t, f)
	op := q.Subgraphs[0].Operators[0]
	in, out := q.Subgraphs[0].Tensors[op.Inputs[0]], q.Subgraphs[0].Tensors[op.Outputs[0]]
	if in.Type != tflite.Int8 || out.Type != tflite.Int8 {
		t.Fatalf("types %s -> %s, want INT8", in.Type, out.Type)
	}
	verifyScale(t, "avg pool input", f.Subgraphs[0].Tensors[op.Inputs[0]].Quantization, in.Quantization)
	if in.Quantization.Scale[0] != out.Quantization.Scale[0] {
		t.Errorf("output scale %v, want the input's %v", out.Quantization.Scale[0], in.Quantization.Scale[0])
	}
	wantCodes(t, q, map[tflite.BuiltinOperator]int{tflite.OpAveragePool2D: 2})
}

func TestConverterPropertiesAddReshape(t *testing.T) {
	f := loadConformance(t, "quant_multi_input_add_reshape.bin")
	q := quantizeInt8(t, f)
	sg, fsg := q.Subgraphs[0], f.Subgraphs[0]
	add, reshape := sg.Operators[0], sg.Operators[1]
	if q.OperatorCodes[reshape.OpcodeIndex].Builtin != tflite.OpReshape || len(reshape.Inputs) != 2 || len(reshape.Outputs) != 1 {
		t.Fatalf("operator 1 is %s with %d inputs, want RESHAPE with 2", q.OperatorCodes[reshape.OpcodeIndex].Builtin, len(reshape.Inputs))
	}
	if sg.Tensors[reshape.Inputs[0]].Type != tflite.Int8 || sg.Tensors[reshape.Outputs[0]].Type != tflite.Int8 {
		t.Errorf("reshape is not int8")
	}
	verifyScale(t, "reshape input", fsg.Tensors[reshape.Inputs[0]].Quantization, sg.Tensors[reshape.Inputs[0]].Quantization)
	if len(sg.Tensors[reshape.Outputs[0]].Quantization.Scale) != 1 {
		t.Errorf("reshape output needs one scale")
	}
	for i := range 2 {
		tn := sg.Tensors[add.Inputs[i]]
		if tn.Type != tflite.Int8 {
			t.Errorf("add input %d is %s", i, tn.Type)
		}
		verifyScale(t, "add input", fsg.Tensors[add.Inputs[i]].Quantization, tn.Quantization)
	}
	if len(sg.Tensors[add.Outputs[0]].Quantization.Scale) != 1 || sg.Tensors[add.Outputs[0]].Type != tflite.Int8 {
		t.Errorf("add output must be int8 with one scale")
	}
	wantCodes(t, q, map[tflite.BuiltinOperator]int{tflite.OpAdd: 2, tflite.OpReshape: 1})
}

func TestConverterPropertiesFC(t *testing.T) {
	f := loadConformance(t, "quant_fc.bin")
	q := quantizeInt8(t, f)
	sg, fsg := q.Subgraphs[0], f.Subgraphs[0]
	op, fop := sg.Operators[0], fsg.Operators[0]
	if len(op.Inputs) != 3 || len(op.Outputs) != 1 {
		t.Fatalf("FC has %d inputs, %d outputs", len(op.Inputs), len(op.Outputs))
	}
	in, w, bias, out := sg.Tensors[op.Inputs[0]], sg.Tensors[op.Inputs[1]], sg.Tensors[op.Inputs[2]], sg.Tensors[op.Outputs[0]]
	if in.Type != tflite.Int8 || w.Type != tflite.Int8 || bias.Type != tflite.Int32 || out.Type != tflite.Int8 {
		t.Fatalf("types in %s weights %s bias %s out %s, want INT8 INT8 INT32 INT8", in.Type, w.Type, bias.Type, out.Type)
	}
	verifyScale(t, "FC input", fsg.Tensors[fop.Inputs[0]].Quantization, in.Quantization)
	const outChannels = 2
	if len(w.Quantization.Scale) != outChannels || len(bias.Quantization.Scale) != outChannels {
		t.Fatalf("weights %d scales, bias %d, want %d (per channel)", len(w.Quantization.Scale), len(bias.Quantization.Scale), outChannels)
	}
	fw, _ := tflite.Float32s(f.Data(0, fop.Inputs[1]))
	qw := tflite.Int8s(q.Data(0, op.Inputs[1]))
	fb, _ := tflite.Float32s(f.Data(0, fop.Inputs[2]))
	qb, _ := tflite.Int32s(q.Data(0, op.Inputs[2]))
	per := len(qw) / outChannels
	for c := range outChannels {
		bs := bias.Quantization.Scale[c]
		if d := math.Abs(float64(bs - in.Quantization.Scale[0]*w.Quantization.Scale[c])); d > 1e-7 {
			t.Errorf("bias scale[%d] %v, want %v", c, bs, in.Quantization.Scale[0]*w.Quantization.Scale[c])
		}
		if d := math.Abs(float64(float32(qb[c])*bs - fb[c])); d > float64(bs/2) {
			t.Errorf("bias[%d] dequantizes to %v, float %v", c, float32(qb[c])*bs, fb[c])
		}
		for j := range per {
			i := c*per + j
			s := w.Quantization.Scale[c]
			if d := math.Abs(float64(float32(qw[i])*s - fw[i])); d > float64(s/2) || w.Quantization.ZeroPoint[c] != 0 {
				t.Errorf("weight %d dequantizes to %v (zp %d), float %v", i, float32(qw[i])*s, w.Quantization.ZeroPoint[c], fw[i])
			}
		}
	}
	// The origin asserts FULLY_CONNECTED version 5 and a single operator
	// code: the MLIR converter folds the RESHAPE into the FC (keep_num_dims,
	// version 5). This quantizer keeps the graph as it is, so FC stays
	// without keep_num_dims: version 4 by TFLite's op_version rules.
	wantCodes(t, q, map[tflite.BuiltinOperator]int{tflite.OpFullyConnected: 4, tflite.OpReshape: 1})
}
