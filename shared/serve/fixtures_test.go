package serve

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/megapipe/mega/shared/dataset"
	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/infer"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/tflite"
)

// The test spec: age (numeric, nullable, imputed with 40), plan
// (categorical basic/pro, one-hot), income (numeric, required).
func testSpec(task nn.Task, classes []string) *features.Spec {
	return &features.Spec{
		Version: features.Version, Dataset: "shop", Task: task, Label: "churn", Classes: classes,
		Features: []dataset.Feature{
			{Name: "age", Type: dataset.Numeric, Nullable: true},
			{Name: "plan", Type: dataset.Categorical, Values: []string{"basic", "pro"}},
			{Name: "income", Type: dataset.Numeric},
		},
		Inputs: []features.Input{
			{Name: "age", Feature: "age", Kind: "numeric", Impute: 40, Column: 0},
			{Name: "plan=basic", Feature: "plan", Kind: "onehot", Value: "basic", Code: 0, Column: 1},
			{Name: "plan=pro", Feature: "plan", Kind: "onehot", Value: "pro", Code: 1, Column: 1},
			{Name: "income", Feature: "income", Kind: "numeric", Column: 2},
		},
		Norm:     nn.Normalization{Mean: []float64{40, 0.5, 0.5, 50}, Std: []float64{10, 0.5, 0.5, 20}},
		TrainPct: 80, ValPct: 10,
	}
}

// Weights of the hand-built test models (4 inputs).
var (
	w3 = []float32{0.05, 1, -1, 0.01, -0.03, -0.5, 0.5, 0.02, 0.01, 0.2, 0.1, -0.03}
	b3 = []float32{0.1, -0.2, 0.05}
	w1 = []float32{0.04, -0.7, 0.9, -0.02}
	b1 = []float32{0.3}
)

// fcModel builds FULLY_CONNECTED (4 -> outs) then head (SOFTMAX, LOGISTIC or
// none), with input shape signature [-1, 4] as the trainer exports.
func fcModel(t testing.TB, outs int, head tflite.BuiltinOperator) []byte {
	t.Helper()
	b := tflite.NewBuilder("serve test")
	x := b.AddTensor(tflite.Tensor{Name: "x", Type: tflite.Float32, Shape: []int{1, 4}, ShapeSignature: []int{-1, 4}})
	w, bias := w3, b3
	if outs == 1 {
		w, bias = w1, b1
	}
	wt := b.AddConstFloat32("w", []int{outs, 4}, w)
	bt := b.AddConstFloat32("b", []int{outs}, bias)
	z := b.AddActivation("z", tflite.Float32, []int{1, outs}, nil)
	b.AddOperator(tflite.OpFullyConnected, 1, []int{x, wt, bt}, []int{z}, &tflite.FullyConnectedOptions{})
	out := z
	switch head {
	case tflite.OpSoftmax:
		out = b.AddActivation("p", tflite.Float32, []int{1, outs}, nil)
		b.AddOperator(tflite.OpSoftmax, 1, []int{z}, []int{out}, &tflite.SoftmaxOptions{Beta: 1})
	case tflite.OpLogistic:
		out = b.AddActivation("p", tflite.Float32, []int{1, outs}, nil)
		b.AddOperator(tflite.OpLogistic, 1, []int{z}, []int{out}, nil)
	}
	b.SetInputs(x)
	b.SetOutputs(out)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// int8Model quantizes the multiclass model with int8 inputs and outputs.
func int8Model(t testing.TB, io quant.IO) []byte {
	t.Helper()
	m, err := tflite.Parse(fcModel(t, 3, tflite.OpSoftmax))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]float32
	for i := range 64 {
		f := float32(i)
		rows = append(rows, []float32{20 + f, float32(i % 2), float32(1 - i%2), 10 + 2*f})
	}
	q, _, err := quant.Quantize(context.Background(), m, quant.Rows(rows), quant.Options{IO: io})
	if err != nil {
		t.Fatal(err)
	}
	data, err := q.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// direct runs a model file on one input vector in a fresh interpreter,
// quantizing and dequantizing int8 I/O as TFLite defines it.
func direct(t testing.TB, model []byte, x []float32) []float32 {
	t.Helper()
	m, err := tflite.Parse(model)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := infer.New(m, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := ip.Input(0)
	switch in.Type {
	case tflite.Float32:
		copy(in.Float32s(), x)
	case tflite.Int8:
		s, zp := float64(in.Scale()), in.ZeroPoint()
		for i, v := range x {
			q := int32(math.RoundToEven(float64(v)/s)) + zp
			in.Int8s()[i] = int8(max(-128, min(127, q)))
		}
	}
	if err := ip.Invoke(); err != nil {
		t.Fatal(err)
	}
	out := ip.Output(0)
	if out.Type == tflite.Int8 {
		r := make([]float32, out.NumElements())
		for i, q := range out.Int8s() {
			r[i] = float32(int32(q)-out.ZeroPoint()) * out.Scale()
		}
		return r
	}
	return append([]float32(nil), out.Float32s()...)
}

// conformanceDir is ../shared/testdata/tflite next to the repository, or
// $MEGA_TFLITE_TESTDATA; the test skips without it.
func conformanceDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("MEGA_TFLITE_TESTDATA"); d != "" {
		return d
	}
	dir, _ := filepath.Abs(".")
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		p := filepath.Dir(dir)
		if p == dir {
			break
		}
		dir = p
	}
	d := filepath.Join(dir, "..", "shared", "testdata", "tflite")
	if _, err := os.Stat(filepath.Join(d, "hello_world_float.tflite")); err != nil {
		t.Skip("conformance data absent (../shared/testdata/tflite next to the repository; set MEGA_TFLITE_TESTDATA): " +
			"hello_world models and official outputs come from TFLM (tensorflow/tflite-micro) and the official runtime")
	}
	return d
}
