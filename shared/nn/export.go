package nn

import (
	"fmt"

	"github.com/megapipe/mega/shared/tflite"
)

// Tensor names of the exported model's input and output.
const (
	InputName       = "features"
	OutputProbs     = "probabilities" // multiclass: [batch, classes]
	OutputProb      = "probability"   // binary: [batch, 1], probability of class 1
	OutputPredicted = "prediction"    // regression: [batch, 1]
)

// folded returns the layers with the input normalization folded into the
// first layer (so they take raw feature values) and, for regression, the
// target scaling folded into the last (so it outputs original units).
//
//	W'[o][j] = W[o][j] / std[j],   b'[o] = b[o] - Σ_j W[o][j]·mean[j]/std[j]
//	regression: W'' = W'·TargetStd, b'' = b'·TargetStd + TargetMean
func (m *Model) folded() []Layer {
	ls := m.Clone().Layers
	first := &ls[0]
	for o := 0; o < first.Out; o++ {
		row := first.W[o*first.In : (o+1)*first.In]
		shift := 0.0
		for j := range row {
			row[j] *= m.Norm.Scale(j)
			shift += row[j] * m.Norm.Mean[j]
		}
		first.B[o] -= shift
	}
	if m.Task == Regression {
		last := &ls[len(ls)-1]
		for k := range last.W {
			last.W[k] *= m.TargetStd
		}
		for k := range last.B {
			last.B[k] = last.B[k]*m.TargetStd + m.TargetMean
		}
	}
	return ls
}

// TFLite returns the model as a float32 TensorFlow Lite flatbuffer that takes
// raw feature values: input "features" FLOAT32 [1, inputs] (shape signature
// [-1, inputs], so runtimes may resize the batch), FULLY_CONNECTED layers
// with fused RELU, then SOFTMAX ("probabilities", [1, classes]), LOGISTIC
// ("probability" of class 1, [1, 1]) or nothing ("prediction", [1, 1]).
func (m *Model) TFLite() ([]byte, error) {
	tm, err := m.TFLiteModel(1)
	if err != nil {
		return nil, err
	}
	b, err := tm.Marshal()
	if err != nil {
		return nil, fmt.Errorf("export tflite: %w", err)
	}
	return b, nil
}

// TFLiteModel builds the exported graph with a static batch dimension (TFLite
// uses 1; a larger one lets a runtime without resizing run many rows at once).
func (m *Model) TFLiteModel(batch int) (*tflite.Model, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("export tflite: %w", err)
	}
	if batch < 1 {
		return nil, fmt.Errorf("export tflite: batch %d: %w", batch, ErrBadConfig)
	}
	b := tflite.NewBuilder(fmt.Sprintf("megapipe nn %s MLP %d-%v-%d", m.Task, m.Inputs, m.Hidden(), m.Outputs()))
	act := func(name string, width int) int {
		return b.AddTensor(tflite.Tensor{Name: name, Type: tflite.Float32, Shape: []int{batch, width}, ShapeSignature: []int{-1, width}, HasRank: true})
	}
	in := act(InputName, m.Inputs)
	b.SetInputs(in)
	layers := m.folded()
	final := map[Task]string{Multiclass: "logits", Binary: "logit", Regression: OutputPredicted}[m.Task]
	x := in
	for i, l := range layers {
		w := make([]float32, len(l.W))
		for k, v := range l.W {
			w[k] = float32(v)
		}
		bias := make([]float32, len(l.B))
		for k, v := range l.B {
			bias[k] = float32(v)
		}
		wt := b.AddConstFloat32(fmt.Sprintf("dense_%d/weights", i), []int{l.Out, l.In}, w)
		bt := b.AddConstFloat32(fmt.Sprintf("dense_%d/bias", i), []int{l.Out}, bias)
		name, fused := fmt.Sprintf("dense_%d/relu", i), tflite.ActRelu
		if i == len(layers)-1 {
			name, fused = final, tflite.ActNone
		}
		out := act(name, l.Out)
		b.AddOperator(tflite.OpFullyConnected, 1, []int{x, wt, bt}, []int{out}, &tflite.FullyConnectedOptions{Activation: fused})
		x = out
	}
	switch m.Task {
	case Multiclass:
		out := act(OutputProbs, m.Classes)
		b.AddOperator(tflite.OpSoftmax, 1, []int{x}, []int{out}, &tflite.SoftmaxOptions{Beta: 1})
		x = out
	case Binary:
		out := act(OutputProb, 1)
		b.AddOperator(tflite.OpLogistic, 1, []int{x}, []int{out}, nil)
		x = out
	}
	b.SetOutputs(x)
	tm, err := b.Model()
	if err != nil {
		return nil, fmt.Errorf("export tflite: %w", err)
	}
	return tm, nil
}
