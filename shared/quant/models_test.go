package quant_test

import (
	"math"
	"testing"

	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/tflite"
)

// wave returns n deterministic values in about [-amp, amp].
func wave(n int, seed, amp float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(amp * math.Sin(seed+1.7*float64(i)+0.31*float64(i*i%13)))
	}
	return v
}

// rows returns n calibration rows of width values each.
func rows(n, width int, seed, amp float64) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = wave(width, seed+float64(i)*0.77, amp)
	}
	return out
}

func build(t testing.TB, b *tflite.Builder) *tflite.Model {
	t.Helper()
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mlpModel: x[1,6] -> FC(10, RELU) -> FC(4) -> SOFTMAX, as the trainer exports.
func mlpModel(t testing.TB) *tflite.Model {
	b := tflite.NewBuilder("test mlp")
	x := b.AddActivation("x", tflite.Float32, []int{1, 6}, nil)
	w1 := b.AddConstFloat32("dense_0/weights", []int{10, 6}, wave(60, 0.1, 0.8))
	b1 := b.AddConstFloat32("dense_0/bias", []int{10}, wave(10, 0.2, 0.3))
	h := b.AddActivation("dense_0/relu", tflite.Float32, []int{1, 10}, nil)
	w2 := b.AddConstFloat32("dense_1/weights", []int{4, 10}, wave(40, 0.3, 1.2))
	b2 := b.AddConstFloat32("dense_1/bias", []int{4}, wave(4, 0.4, 0.5))
	logits := b.AddActivation("logits", tflite.Float32, []int{1, 4}, nil)
	probs := b.AddActivation("probs", tflite.Float32, []int{1, 4}, nil)
	b.AddOperator(tflite.OpFullyConnected, 1, []int{x, w1, b1}, []int{h}, &tflite.FullyConnectedOptions{Activation: tflite.ActRelu})
	b.AddOperator(tflite.OpFullyConnected, 1, []int{h, w2, b2}, []int{logits}, &tflite.FullyConnectedOptions{})
	b.AddOperator(tflite.OpSoftmax, 1, []int{logits}, []int{probs}, &tflite.SoftmaxOptions{Beta: 1})
	b.SetInputs(x)
	b.SetOutputs(probs)
	return build(t, b)
}

// binaryModel: x[1,5] -> FC(8, RELU) -> FC(1) -> LOGISTIC.
func binaryModel(t testing.TB) *tflite.Model {
	b := tflite.NewBuilder("test binary")
	x := b.AddActivation("x", tflite.Float32, []int{1, 5}, nil)
	w1 := b.AddConstFloat32("w1", []int{8, 5}, wave(40, 1.1, 0.9))
	b1 := b.AddConstFloat32("b1", []int{8}, wave(8, 1.2, 0.2))
	h := b.AddActivation("h", tflite.Float32, []int{1, 8}, nil)
	w2 := b.AddConstFloat32("w2", []int{1, 8}, wave(8, 1.3, 1.5))
	b2 := b.AddConstFloat32("b2", []int{1}, []float32{0.1})
	logit := b.AddActivation("logit", tflite.Float32, []int{1, 1}, nil)
	prob := b.AddActivation("prob", tflite.Float32, []int{1, 1}, nil)
	b.AddOperator(tflite.OpFullyConnected, 1, []int{x, w1, b1}, []int{h}, &tflite.FullyConnectedOptions{Activation: tflite.ActRelu})
	b.AddOperator(tflite.OpFullyConnected, 1, []int{h, w2, b2}, []int{logit}, &tflite.FullyConnectedOptions{})
	b.AddOperator(tflite.OpLogistic, 1, []int{logit}, []int{prob}, nil)
	b.SetInputs(x)
	b.SetOutputs(prob)
	return build(t, b)
}

// convModel: x[1,8,8,2] -> CONV_2D(4, 3x3, RELU6) -> DEPTHWISE_CONV_2D(3x3,
// stride 2, RELU) -> AVERAGE_POOL_2D(2x2) -> RESHAPE[1,16] -> FC(3) -> SOFTMAX.
func convModel(t testing.TB) *tflite.Model {
	b := tflite.NewBuilder("test convnet")
	x := b.AddActivation("image", tflite.Float32, []int{1, 8, 8, 2}, nil)
	cw := b.AddConstFloat32("conv/weights", []int{4, 3, 3, 2}, wave(72, 2.1, 0.6))
	cb := b.AddConstFloat32("conv/bias", []int{4}, wave(4, 2.2, 0.2))
	c := b.AddActivation("conv/relu6", tflite.Float32, []int{1, 8, 8, 4}, nil)
	dw := b.AddConstFloat32("dw/weights", []int{1, 3, 3, 4}, wave(36, 2.3, 0.9))
	db := b.AddConstFloat32("dw/bias", []int{4}, wave(4, 2.4, 0.1))
	d := b.AddActivation("dw/relu", tflite.Float32, []int{1, 4, 4, 4}, nil)
	p := b.AddActivation("pool", tflite.Float32, []int{1, 2, 2, 4}, nil)
	shape := b.AddConstInt32("flatten/shape", []int{2}, []int32{1, 16}, nil)
	f := b.AddActivation("flatten", tflite.Float32, []int{1, 16}, nil)
	fw := b.AddConstFloat32("fc/weights", []int{3, 16}, wave(48, 2.5, 0.7))
	fb := b.AddConstFloat32("fc/bias", []int{3}, wave(3, 2.6, 0.2))
	logits := b.AddActivation("logits", tflite.Float32, []int{1, 3}, nil)
	probs := b.AddActivation("probs", tflite.Float32, []int{1, 3}, nil)
	b.AddOperator(tflite.OpConv2D, 1, []int{x, cw, cb}, []int{c}, &tflite.Conv2DOptions{Padding: tflite.PaddingSame,
		StrideW: 1, StrideH: 1, Activation: tflite.ActRelu6, DilationW: 1, DilationH: 1})
	b.AddOperator(tflite.OpDepthwiseConv2D, 1, []int{c, dw, db}, []int{d}, &tflite.DepthwiseConv2DOptions{Padding: tflite.PaddingSame,
		StrideW: 2, StrideH: 2, DepthMultiplier: 1, Activation: tflite.ActRelu, DilationW: 1, DilationH: 1})
	b.AddOperator(tflite.OpAveragePool2D, 1, []int{d}, []int{p}, &tflite.Pool2DOptions{Padding: tflite.PaddingValid,
		StrideW: 2, StrideH: 2, FilterWidth: 2, FilterHeight: 2})
	b.AddOperator(tflite.OpReshape, 1, []int{p, shape}, []int{f}, &tflite.ReshapeOptions{NewShape: []int{1, 16}})
	b.AddOperator(tflite.OpFullyConnected, 1, []int{f, fw, fb}, []int{logits}, &tflite.FullyConnectedOptions{})
	b.AddOperator(tflite.OpSoftmax, 1, []int{logits}, []int{probs}, &tflite.SoftmaxOptions{Beta: 1})
	b.SetInputs(x)
	b.SetOutputs(probs)
	return build(t, b)
}

// mixedModel: two inputs a, b [1,4,4,2]; s = RELU-fused ADD(a, b);
// m = MUL(s, k) with a constant k; d = SUB(m, b); p = PAD(d) to [1,6,6,2];
// mp = MAX_POOL_2D(p, 2x2 stride 2); r = RELU(mp); c = CONCATENATION(r, mp)
// on axis 3; e = MEAN(c, axes [1,2], keep dims); out = TANH(e).
func mixedModel(t testing.TB) *tflite.Model {
	b := tflite.NewBuilder("test mixed ops")
	a := b.AddActivation("a", tflite.Float32, []int{1, 4, 4, 2}, nil)
	in2 := b.AddActivation("b", tflite.Float32, []int{1, 4, 4, 2}, nil)
	s := b.AddActivation("sum", tflite.Float32, []int{1, 4, 4, 2}, nil)
	k := b.AddConstFloat32("k", []int{1, 4, 4, 2}, wave(32, 3.1, 1.5))
	m := b.AddActivation("prod", tflite.Float32, []int{1, 4, 4, 2}, nil)
	d := b.AddActivation("diff", tflite.Float32, []int{1, 4, 4, 2}, nil)
	pads := b.AddConstInt32("paddings", []int{4, 2}, []int32{0, 0, 1, 1, 1, 1, 0, 0}, nil)
	p := b.AddActivation("padded", tflite.Float32, []int{1, 6, 6, 2}, nil)
	mp := b.AddActivation("maxpool", tflite.Float32, []int{1, 3, 3, 2}, nil)
	r := b.AddActivation("relu", tflite.Float32, []int{1, 3, 3, 2}, nil)
	c := b.AddActivation("concat", tflite.Float32, []int{1, 3, 3, 4}, nil)
	axes := b.AddConstInt32("axes", []int{2}, []int32{1, 2}, nil)
	e := b.AddActivation("mean", tflite.Float32, []int{1, 1, 1, 4}, nil)
	out := b.AddActivation("tanh", tflite.Float32, []int{1, 1, 1, 4}, nil)
	b.AddOperator(tflite.OpAdd, 1, []int{a, in2}, []int{s}, &tflite.AddOptions{Activation: tflite.ActRelu, PotScaleInt16: true})
	b.AddOperator(tflite.OpMul, 1, []int{s, k}, []int{m}, &tflite.MulOptions{})
	b.AddOperator(tflite.OpSub, 1, []int{m, in2}, []int{d}, &tflite.SubOptions{PotScaleInt16: true})
	b.AddOperator(tflite.OpPad, 1, []int{d, pads}, []int{p}, &tflite.PadOptions{})
	b.AddOperator(tflite.OpMaxPool2D, 1, []int{p}, []int{mp}, &tflite.Pool2DOptions{Padding: tflite.PaddingValid,
		StrideW: 2, StrideH: 2, FilterWidth: 2, FilterHeight: 2})
	b.AddOperator(tflite.OpRelu, 1, []int{mp}, []int{r}, nil)
	b.AddOperator(tflite.OpConcatenation, 1, []int{r, mp}, []int{c}, &tflite.ConcatenationOptions{Axis: 3})
	b.AddOperator(tflite.OpMean, 1, []int{c, axes}, []int{e}, &tflite.ReducerOptions{KeepDims: true})
	b.AddOperator(tflite.OpTanh, 1, []int{e}, []int{out}, nil)
	b.SetInputs(a, in2)
	b.SetOutputs(out)
	return build(t, b)
}

// goldenCase is one quantized model checked against the official runtime.
type goldenCase struct {
	name   string
	float  func(t testing.TB) *tflite.Model
	calib  quant.Calibration // nil: the model's stored min/max
	inputs [][]float32       // one sample, float values per input
	opts   quant.Options
	// conformance names a model in the conformance folder instead of float.
	conformance string
	// override sets stored ranges before quantizing (as the origin's test does).
	override func(m *tflite.Model)
}

func goldenCases() []goldenCase {
	mlpCalib := rows(64, 6, 0.5, 2)
	binCalib := rows(64, 5, 0.9, 3)
	convCalib := rows(16, 128, 1.5, 1)
	mixedCalib := make([][][]float32, 16)
	for i := range mixedCalib {
		mixedCalib[i] = [][]float32{wave(32, float64(i)*0.3, 2), wave(32, float64(i)*0.5+7, 1.5)}
	}
	cases := []goldenCase{
		{name: "mlp_float_io", float: mlpModel, calib: quant.Rows(mlpCalib), inputs: [][]float32{wave(6, 9.1, 1.5)}},
		{name: "mlp_int8_io", float: mlpModel, calib: quant.Rows(mlpCalib), inputs: [][]float32{wave(6, 9.1, 1.5)}, opts: quant.Options{IO: quant.Int8IO}},
		{name: "mlp_per_tensor", float: mlpModel, calib: quant.Rows(mlpCalib), inputs: [][]float32{wave(6, 9.2, 1.5)}, opts: quant.Options{PerTensorWeights: true}},
		{name: "binary_float_io", float: binaryModel, calib: quant.Rows(binCalib), inputs: [][]float32{wave(5, 4.4, 2)}},
		{name: "conv_int8_io", float: convModel, calib: quant.Rows(convCalib), inputs: [][]float32{wave(128, 5.5, 1)}, opts: quant.Options{IO: quant.Int8IO}},
		{name: "conv_float_io", float: convModel, calib: quant.Rows(convCalib), inputs: [][]float32{wave(128, 5.6, 1)}},
		{name: "mixed_float_io", float: mixedModel, calib: quant.Samples(mixedCalib), inputs: [][]float32{wave(32, 6.1, 2), wave(32, 6.2, 1.5)}},
		{name: "mixed_int8_io", float: mixedModel, calib: quant.Samples(mixedCalib), inputs: [][]float32{wave(32, 6.3, 2), wave(32, 6.4, 1.5)}, opts: quant.Options{IO: quant.Int8IO}},
		{name: "scaled_mlp_equalized", float: scaledModel, calib: quant.Rows(scaledRows(64, 0.5)), inputs: scaledRows(1, 11.5)},
		{name: "quant_conv_int8_io", conformance: "quant_single_conv_weights_min_0_max_plus_10.bin", override: conv0to6,
			inputs: [][]float32{wave(108, 7.1, 0.08)}, opts: quant.Options{IO: quant.Int8IO}},
		{name: "quant_softmax_int8_io", conformance: "quant_single_softmax_min_minus_5_max_plus_5.bin",
			inputs: [][]float32{wave(75, 7.2, 5)}, opts: quant.Options{IO: quant.Int8IO}},
		{name: "quant_avg_pool_float_io", conformance: "quant_single_avg_pool_min_minus_5_max_plus_5.bin",
			inputs: [][]float32{wave(75, 7.3, 5)}},
		{name: "quant_fc_float_io", conformance: "quant_fc.bin", inputs: [][]float32{wave(4, 7.4, 100)}},
		{name: "quant_add_reshape_int8_io", conformance: "quant_multi_input_add_reshape.bin",
			inputs: [][]float32{wave(60, 7.5, 1), wave(60, 7.6, 1)}, opts: quant.Options{IO: quant.Int8IO}},
	}
	return cases
}

// conv0to6 gives the conv test model's input and output a [0, 6] range, as
// quantize_model_test.cc does ("Flatbuffer is missing calibration data").
func conv0to6(m *tflite.Model) {
	sg := &m.Subgraphs[0]
	for _, t := range []int{sg.Inputs[0], sg.Outputs[0]} {
		sg.Tensors[t].Quantization = &tflite.Quantization{Min: []float32{0}, Max: []float32{6}}
	}
}

// featureScales are the very different scales of scaledModel's raw features.
var featureScales = []float32{1, 1000, 0.01, 50, 0.2, 5}

// scaledModel is mlpModel for raw features x_i*featureScales[i]: the
// normalization is folded into the first layer's weights, as shared/nn exports.
func scaledModel(t testing.TB) *tflite.Model {
	m := mlpModel(t)
	w, err := tflite.Float32s(m.Data(0, 1))
	if err != nil || len(w) != 60 || m.Subgraphs[0].Tensors[1].Name != "dense_0/weights" {
		t.Fatalf("mlpModel changed: %v", err)
	}
	scaled := make([]float32, len(w))
	for i, v := range w {
		scaled[i] = v / featureScales[i%6]
	}
	m.Buffers[m.Subgraphs[0].Tensors[1].Buffer] = tflite.Float32Bytes(scaled)
	return m
}

func scaledRows(n int, seed float64) [][]float32 {
	rs := rows(n, 6, seed, 2)
	for _, r := range rs {
		for i := range r {
			r[i] *= featureScales[i]
		}
	}
	return rs
}
