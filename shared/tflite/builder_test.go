package tflite_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/megapipe/mega/shared/tflite"
)

// smallMLP builds x[1,4] -> FC(8, RELU) -> FC(3) -> SOFTMAX with fixed weights.
func smallMLP(t testing.TB) *tflite.Model {
	t.Helper()
	b := tflite.NewBuilder("small mlp")
	w1 := make([]float32, 8*4)
	for i := range w1 {
		w1[i] = float32(i%7)/7 - 0.4
	}
	w2 := make([]float32, 3*8)
	for i := range w2 {
		w2[i] = float32(i%5)/5 - 0.3
	}
	x := b.AddActivation("x", tflite.Float32, []int{1, 4}, nil)
	wt1 := b.AddConstFloat32("w1", []int{8, 4}, w1)
	bt1 := b.AddConstFloat32("b1", []int{8}, []float32{0.1, -0.1, 0.2, 0, 0, 0.3, -0.2, 0.05})
	h := b.AddActivation("h", tflite.Float32, []int{1, 8}, nil)
	wt2 := b.AddConstFloat32("w2", []int{3, 8}, w2)
	bt2 := b.AddConstFloat32("b2", []int{3}, []float32{0.5, -0.5, 0})
	logits := b.AddActivation("logits", tflite.Float32, []int{1, 3}, nil)
	probs := b.AddActivation("probs", tflite.Float32, []int{1, 3}, nil)
	b.AddOperator(tflite.OpFullyConnected, 1, []int{x, wt1, bt1}, []int{h}, &tflite.FullyConnectedOptions{Activation: tflite.ActRelu})
	b.AddOperator(tflite.OpFullyConnected, 1, []int{h, wt2, bt2}, []int{logits}, &tflite.FullyConnectedOptions{})
	b.AddOperator(tflite.OpSoftmax, 1, []int{logits}, []int{probs}, &tflite.SoftmaxOptions{Beta: 1})
	b.SetInputs(x)
	b.SetOutputs(probs)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuilder(t *testing.T) {
	m := smallMLP(t)
	// Expected structure written down by hand from the calls above.
	wantCodes := []tflite.OperatorCode{
		{Builtin: tflite.OpFullyConnected, Version: 1},
		{Builtin: tflite.OpSoftmax, Version: 1},
	}
	if diff := cmp.Diff(wantCodes, m.OperatorCodes); diff != "" {
		t.Errorf("operator codes (-want +got):\n%s", diff)
	}
	wantSig := []tflite.SignatureDef{{
		Key:     "serving_default",
		Inputs:  []tflite.TensorMap{{Name: "x", TensorIndex: 0}},
		Outputs: []tflite.TensorMap{{Name: "probs", TensorIndex: 7}},
	}}
	if diff := cmp.Diff(wantSig, m.SignatureDefs); diff != "" {
		t.Errorf("signature (-want +got):\n%s", diff)
	}
	if got, want := len(m.Buffers), 5; got != want {
		t.Errorf("buffers = %d, want %d (sentinel + 4 constants)", got, want)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(b[4:8]) != "TFL3" {
		t.Errorf("identifier = %q", b[4:8])
	}
	m2, err := tflite.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, m2); diff != "" {
		t.Errorf("round trip (-built +parsed):\n%s", diff)
	}
	w2, err := tflite.Float32s(m2.Data(0, 4))
	if err != nil {
		t.Fatal(err)
	}
	if w2[6] != float32(1)/5-0.3 {
		t.Errorf("w2[6] = %v, want %v", w2[6], float32(1)/5-0.3)
	}
}

func TestBuilderRejectsBadIndex(t *testing.T) {
	b := tflite.NewBuilder("")
	x := b.AddActivation("x", tflite.Float32, []int{1}, nil)
	b.AddOperator(tflite.OpRelu, 1, []int{x}, []int{5}, nil)
	b.SetInputs(x)
	b.SetOutputs(x)
	if _, err := b.Model(); err == nil {
		t.Fatal("Model() accepted an operator output that is not a tensor")
	}
}

func TestSummarize(t *testing.T) {
	m := smallMLP(t)
	s := tflite.Summarize(m, 1234)
	if s.FileBytes != 1234 || s.ConstantBytes != 4*(32+8+24+3) {
		t.Errorf("sizes: file %d constant %d, want 1234 and %d", s.FileBytes, s.ConstantBytes, 4*(32+8+24+3))
	}
	ops := s.Subgraphs[0].Operators
	want := []string{"Activation:RELU", "", "Beta:1"}
	for i, op := range ops {
		if op.Options != want[i] {
			t.Errorf("operator %d options %q, want %q", i, op.Options, want[i])
		}
	}
	if got := s.Subgraphs[0].Tensors[4]; got.Name != "w2" || got.Type != "FLOAT32" || got.ConstantBytes != 96 {
		t.Errorf("tensor 4 = %+v, want w2 FLOAT32 with 96 bytes", got)
	}
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"FULLY_CONNECTED  1", "SOFTMAX", "constant data:   268 bytes"} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("text output lacks %q:\n%s", line, text.String())
		}
	}
}
