package quant_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/megapipe/mega/shared/infer"
	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/tflite"
)

func TestActivationParams(t *testing.T) {
	// Expected values worked out by hand from the spec's formulas:
	// [min,max] widened to hold 0, scale = (max-min)/255, zp = round(-128 - min/scale).
	tests := []struct {
		r         quant.Range
		wantScale float32
		wantZP    int64
	}{
		{quant.Range{Min: 0, Max: 10}, float32(10.0 / 255), -128},
		{quant.Range{Min: -2, Max: 6}, float32(8.0 / 255), -64},  // -128 + 63.75
		{quant.Range{Min: 1, Max: 3}, float32(3.0 / 255), -128},  // widened to [0, 3]
		{quant.Range{Min: -4, Max: -1}, float32(4.0 / 255), 127}, // widened to [-4, 0]
		{quant.Range{Min: 0, Max: 0}, 1, -128},                   // degenerate: documented choice
	}
	for _, tt := range tests {
		s, zp := quant.ActivationParams(tt.r)
		if s != tt.wantScale || zp != tt.wantZP {
			t.Errorf("ActivationParams(%v) = %v, %d; want %v, %d", tt.r, s, zp, tt.wantScale, tt.wantZP)
		}
	}
}

func TestQuantizeWeights(t *testing.T) {
	tests := []struct {
		name       string
		w          []float32
		dims       []int
		axis       int
		wantQ      []int8
		wantScales []float32
	}{
		{"per channel dim 0", []float32{0.5, -1, 0.25, 2, 0, -0.5}, []int{2, 3}, 0,
			[]int8{64, -127, 32, 127, 0, -32}, []float32{1.0 / 127, 2.0 / 127}},
		{"per tensor", []float32{0.5, -1, 0.25, 2, 0, -0.5}, []int{2, 3}, -1,
			[]int8{32, -64, 16, 127, 0, -32}, []float32{2.0 / 127}},
		{"depthwise dim 3", []float32{1, -4, 0.5, 2}, []int{1, 1, 2, 2}, 3,
			[]int8{127, -127, 64, 64}, []float32{1.0 / 127, 4.0 / 127}},
		{"zero channel", []float32{0, 0, 3, -3}, []int{2, 2}, 0,
			[]int8{0, 0, 127, -127}, []float32{1, 3.0 / 127}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, s := quant.QuantizeWeights(tt.w, tt.dims, tt.axis)
			if diff := cmp.Diff(tt.wantQ, q); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantScales, s); diff != "" {
				t.Errorf("scales (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuantizeBias(t *testing.T) {
	q, s, clamped := quant.QuantizeBias([]float32{1, -0.5}, 0.5, []float32{0.01, 0.02})
	if diff := cmp.Diff([]int32{200, -50}, q); diff != "" || clamped != 0 {
		t.Errorf("values (-want +got):\n%s (clamped %d)", diff, clamped)
	}
	if diff := cmp.Diff([]float32{0.5 * 0.01, 0.5 * 0.02}, s); diff != "" {
		t.Errorf("scales (-want +got):\n%s", diff)
	}
	q, _, clamped = quant.QuantizeBias([]float32{1e10, -1e10}, 1e-3, []float32{1e-3})
	if diff := cmp.Diff([]int32{math.MaxInt32, -math.MaxInt32}, q); diff != "" || clamped != 2 {
		t.Errorf("clamped values (-want +got):\n%s (clamped %d, want 2)", diff, clamped)
	}
}

func TestQuantizeErrors(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	unsupported := func(t testing.TB) *tflite.Model {
		b := tflite.NewBuilder("exp")
		x := b.AddActivation("x", tflite.Float32, []int{1, 3}, nil)
		y := b.AddActivation("y", tflite.Float32, []int{1, 3}, nil)
		b.AddOperator(tflite.BuiltinOperator(47) /* EXP */, 1, []int{x}, []int{y}, nil)
		b.SetInputs(x)
		b.SetOutputs(y)
		return build(t, b)
	}
	alreadyInt8 := func(t testing.TB) *tflite.Model {
		b := tflite.NewBuilder("int8")
		q := &tflite.Quantization{Scale: []float32{0.1}, ZeroPoint: []int64{0}}
		x := b.AddActivation("x", tflite.Int8, []int{1, 3}, q)
		y := b.AddActivation("y", tflite.Int8, []int{1, 3}, q)
		b.AddOperator(tflite.OpRelu, 2, []int{x}, []int{y}, nil)
		b.SetInputs(x)
		b.SetOutputs(y)
		return build(t, b)
	}
	nan := wave(6, 1, 1)
	nan[2] = float32(math.NaN())
	tests := []struct {
		name  string
		ctx   context.Context
		model func(testing.TB) *tflite.Model
		calib quant.Calibration
		want  error
	}{
		{"no ranges in the model", ctx, mlpModel, nil, quant.ErrNoRange},
		{"row of the wrong width", ctx, mlpModel, quant.Rows([][]float32{make([]float32, 5)}), quant.ErrBadCalibration},
		{"no rows", ctx, mlpModel, quant.Rows(nil), quant.ErrBadCalibration},
		{"two inputs for one", ctx, mlpModel, quant.Samples([][][]float32{{wave(6, 1, 1), wave(6, 2, 1)}}), quant.ErrBadCalibration},
		{"NaN in a row", ctx, mlpModel, quant.Rows([][]float32{nan}), quant.ErrBadCalibration},
		{"unsupported op", ctx, unsupported, quant.Rows(rows(2, 3, 0, 1)), quant.ErrUnsupported},
		{"already int8", ctx, alreadyInt8, nil, quant.ErrUnsupported},
		{"cancelled", cancelled, mlpModel, quant.Rows(rows(4, 6, 0, 1)), context.Canceled},
		{"calibration error", ctx, mlpModel, func(yield func([][]float32, error) bool) { yield(nil, errBoom) }, errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := quant.Quantize(tt.ctx, tt.model(t), tt.calib, quant.Options{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

var errBoom = errors.New("boom")

// TestQuantizedMLPAgreesWithFloat: the calibrated int8 MLP's probabilities
// stay within 0.05 of the float model's on rows it was not calibrated on,
// and the report describes the model.
func TestQuantizedMLPAgreesWithFloat(t *testing.T) {
	f := mlpModel(t)
	q, rep, err := quant.Quantize(context.Background(), f, quant.Rows(rows(200, 6, 0.5, 2)), quant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantOps := map[string]int{"QUANTIZE": 1, "FULLY_CONNECTED": 2, "SOFTMAX": 1, "DEQUANTIZE": 1}
	if diff := cmp.Diff(wantOps, rep.Operators); diff != "" {
		t.Errorf("operators (-want +got):\n%s", diff)
	}
	if rep.Samples != 200 || rep.RangeSource != "calibration" || rep.IO != "float" {
		t.Errorf("report samples %d source %q io %q", rep.Samples, rep.RangeSource, rep.IO)
	}
	fi, err := infer.New(f, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	qi, err := infer.New(q, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for _, row := range rows(100, 6, 40.5, 2) {
		copy(fi.Input(0).Float32s(), row)
		copy(qi.Input(0).Float32s(), row)
		if err := fi.Invoke(); err != nil {
			t.Fatal(err)
		}
		if err := qi.Invoke(); err != nil {
			t.Fatal(err)
		}
		for k, v := range fi.Output(0).Float32s() {
			worst = max(worst, math.Abs(float64(v-qi.Output(0).Float32s()[k])))
		}
	}
	if worst > 0.05 {
		t.Errorf("int8 probabilities differ from float by up to %v, want <= 0.05", worst)
	}
	t.Logf("max |p_int8 - p_float| over 100 rows: %.4f", worst)
}

// TestQuantizedSize: for a model whose weights dominate its size, the int8
// model is well under half the float one: weights take a quarter of the
// bytes, plus per-channel scales and int64 zero points (12 bytes per output
// channel for the weights and again for the bias), which the format requires.
func TestQuantizedSize(t *testing.T) {
	b := tflite.NewBuilder("wide mlp")
	x := b.AddActivation("x", tflite.Float32, []int{1, 64}, nil)
	w1 := b.AddConstFloat32("w1", []int{128, 64}, wave(128*64, 0.1, 0.5))
	b1 := b.AddConstFloat32("b1", []int{128}, wave(128, 0.2, 0.1))
	h := b.AddActivation("h", tflite.Float32, []int{1, 128}, nil)
	w2 := b.AddConstFloat32("w2", []int{10, 128}, wave(1280, 0.3, 0.5))
	b2 := b.AddConstFloat32("b2", []int{10}, wave(10, 0.4, 0.1))
	y := b.AddActivation("y", tflite.Float32, []int{1, 10}, nil)
	b.AddOperator(tflite.OpFullyConnected, 1, []int{x, w1, b1}, []int{h}, &tflite.FullyConnectedOptions{Activation: tflite.ActRelu})
	b.AddOperator(tflite.OpFullyConnected, 1, []int{h, w2, b2}, []int{y}, &tflite.FullyConnectedOptions{})
	b.SetInputs(x)
	b.SetOutputs(y)
	_, rep, err := quant.Quantize(context.Background(), build(t, b), quant.Rows(rows(16, 64, 1, 1)), quant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ratio := float64(rep.Int8Bytes) / float64(rep.FloatBytes); ratio > 0.40 {
		t.Errorf("int8 %d bytes / float %d bytes = %.3f, want <= 0.40", rep.Int8Bytes, rep.FloatBytes, ratio)
	} else {
		t.Logf("int8 %d bytes / float %d bytes = %.3f", rep.Int8Bytes, rep.FloatBytes, ratio)
	}
}

// maxProbDiff runs both models on rows and returns the largest difference
// between their float outputs.
func maxProbDiff(t *testing.T, f, q *tflite.Model, rs [][]float32) float64 {
	t.Helper()
	fi, err := infer.New(f, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	qi, err := infer.New(q, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for _, row := range rs {
		copy(fi.Input(0).Float32s(), row)
		copy(qi.Input(0).Float32s(), row)
		if err := fi.Invoke(); err != nil {
			t.Fatal(err)
		}
		if err := qi.Invoke(); err != nil {
			t.Fatal(err)
		}
		for k, v := range fi.Output(0).Float32s() {
			worst = max(worst, math.Abs(float64(v-qi.Output(0).Float32s()[k])))
		}
	}
	return worst
}

// TestInputEqualization: raw features with scales from 0.01 to 1000 (the
// normalization folded into the first layer) lose the small features to
// one int8 input scale; equalization rescales them in float first.
func TestInputEqualization(t *testing.T) {
	f := scaledModel(t)
	calib := scaledRows(200, 0.5)
	test := scaledRows(100, 40.5)
	q, rep, err := quant.Quantize(context.Background(), f, quant.Rows(calib), quant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"x"}, rep.EqualizedInputs); diff != "" {
		t.Errorf("equalized inputs (-want +got):\n%s", diff)
	}
	wantOps := map[string]int{"MUL": 1, "ADD": 1, "QUANTIZE": 1, "FULLY_CONNECTED": 2, "SOFTMAX": 1, "DEQUANTIZE": 1}
	if diff := cmp.Diff(wantOps, rep.Operators); diff != "" {
		t.Errorf("operators (-want +got):\n%s", diff)
	}
	if got := q.Subgraphs[0].Tensors[q.Subgraphs[0].Inputs[0]].Name; got != "x" {
		t.Errorf("input is %q, want the original x", got)
	}
	with := maxProbDiff(t, f, q, test)
	if with > 0.05 {
		t.Errorf("with equalization, int8 differs from float by up to %v, want <= 0.05", with)
	}
	plain, plainRep, err := quant.Quantize(context.Background(), f, quant.Rows(calib), quant.Options{NoInputEqualization: true})
	if err != nil {
		t.Fatal(err)
	}
	// The input scale (about 16) times the first layer's weight scales over
	// its output scale exceeds XNNPACK's limit of 256.
	if len(plainRep.Warnings) == 0 {
		t.Errorf("no warning for the unequalized model")
	} else {
		t.Logf("warning: %s", plainRep.Warnings[0])
	}
	without := maxProbDiff(t, f, plain, test)
	if len(rep.Warnings) != 0 {
		t.Errorf("equalized model has warnings %v", rep.Warnings)
	}
	if without < 4*with {
		t.Errorf("without equalization the error is %v, with %v: expected equalization to matter here", without, with)
	}
	t.Logf("max |p_int8 - p_float|: %.4f with equalization, %.4f without", with, without)
	// The mlp's inputs all have similar ranges: no equalization there.
	_, rep, err = quant.Quantize(context.Background(), mlpModel(t), quant.Rows(rows(64, 6, 0.5, 2)), quant.Options{})
	if err != nil || rep.EqualizedInputs != nil {
		t.Errorf("mlp: equalized %v (err %v), want none", rep.EqualizedInputs, err)
	}
}

// TestCalibrationBatchSizes: a model exported with batch 4 calibrates from
// one-row samples, and one-row and four-row samples give the same ranges
// (so the same scales) as the batch-1 model.
func TestCalibrationBatchSizes(t *testing.T) {
	batch4 := mlpModel(t)
	for i := range batch4.Subgraphs[0].Tensors {
		tn := &batch4.Subgraphs[0].Tensors[i]
		if len(tn.Shape) == 2 && tn.Buffer == 0 {
			tn.Shape[0] = 4
		}
	}
	rs := rows(32, 6, 0.5, 2)
	var grouped [][]float32
	for i := 0; i < len(rs); i += 4 {
		var g []float32
		for _, r := range rs[i : i+4] {
			g = append(g, r...)
		}
		grouped = append(grouped, g)
	}
	scales := func(m *tflite.Model, calib quant.Calibration) []float32 {
		t.Helper()
		_, rep, err := quant.Quantize(context.Background(), m, calib, quant.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var s []float32
		for _, tr := range rep.Tensors {
			s = append(s, tr.Scale)
		}
		return s
	}
	want := scales(mlpModel(t), quant.Rows(rs))
	if diff := cmp.Diff(want, scales(batch4, quant.Rows(rs))); diff != "" {
		t.Errorf("batch-4 model, one-row samples (-batch 1 +batch 4):\n%s", diff)
	}
	if diff := cmp.Diff(want, scales(mlpModel(t), quant.Rows(grouped))); diff != "" {
		t.Errorf("batch-1 model, four-row samples (-one row +four rows):\n%s", diff)
	}
	if _, _, err := quant.Quantize(context.Background(), mlpModel(t), quant.Rows([][]float32{make([]float32, 7)}), quant.Options{}); !errors.Is(err, quant.ErrBadCalibration) {
		t.Errorf("7 values for 6-wide rows: error %v, want ErrBadCalibration", err)
	}
}
