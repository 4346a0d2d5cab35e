package nn

import (
	"encoding/json"

	"errors"
	"fmt"
	"github.com/megapipe/mega/shared/tabular"
	"gonum.org/v1/gonum/floats"
	"math"
)

// Task is what a network predicts, which decides its output head and loss
// (tabular.Task, so that feature building need not import the network).
type Task = tabular.Task

// The three tasks.
const (
	// Multiclass: one logit per class, softmax, cross-entropy.
	Multiclass = tabular.Multiclass
	// Binary: one logit, sigmoid (probability of class 1), binary cross-entropy.
	Binary = tabular.Binary
	// Regression: one linear output, mean squared error.
	Regression = tabular.Regression
)

// Sentinel errors. Errors returned by this package wrap one of these when the
// caller's input is at fault.
var (
	// ErrBadData marks malformed or inconsistent training data.
	ErrBadData = tabular.ErrBadData
	// ErrBadConfig marks an invalid configuration.
	ErrBadConfig = errors.New("bad config")
	// ErrBadModel marks a model whose shapes do not hold together.
	ErrBadModel = errors.New("bad model")
)

// Normalization standardizes raw feature values (tabular.Normalization).
type Normalization = tabular.Normalization

// ComputeNormalization returns the per-feature mean and (population) standard
// deviation of rows (tabular.ComputeNormalization).
func ComputeNormalization(rows [][]float64) (Normalization, error) {
	return tabular.ComputeNormalization(rows)
}

// Layer is one fully connected layer: out = W·in + B, W stored row-major as
// Out rows of In weights (the layout of TFLite's FULLY_CONNECTED filter).
// Every layer but the last is followed by ReLU.
type Layer struct {
	In  int       `json:"in"`
	Out int       `json:"out"`
	W   []float64 `json:"w"`
	B   []float64 `json:"b"`
}

// Model is a trained multilayer perceptron. It takes raw feature values:
// Norm standardizes them before the first layer. For regression the last
// layer works on a standardized target, and the prediction is
// output*TargetStd + TargetMean.
type Model struct {
	Task       Task          `json:"task"`
	Inputs     int           `json:"inputs"`
	Classes    int           `json:"classes,omitempty"` // multiclass: number of classes; binary: 2
	Norm       Normalization `json:"normalization"`
	TargetMean float64       `json:"target_mean,omitempty"`
	TargetStd  float64       `json:"target_std,omitempty"`
	Layers     []Layer       `json:"layers"`
}

// Outputs is the width of the prediction: classes for multiclass, 1 otherwise.
func (m *Model) Outputs() int {
	if m.Task == Multiclass {
		return m.Classes
	}
	return 1
}

// Hidden returns the hidden layer sizes.
func (m *Model) Hidden() []int {
	var h []int
	for _, l := range m.Layers[:max(len(m.Layers)-1, 0)] {
		h = append(h, l.Out)
	}
	return h
}

// Validate checks that the model's shapes hold together.
func (m *Model) Validate() error {
	if m == nil {
		return fmt.Errorf("validate model: nil: %w", ErrBadModel)
	}
	switch m.Task {
	case Multiclass:
		if m.Classes < 2 {
			return fmt.Errorf("validate model: multiclass with %d classes: %w", m.Classes, ErrBadModel)
		}
	case Binary, Regression:
	default:
		return fmt.Errorf("validate model: unknown task %q: %w", m.Task, ErrBadModel)
	}
	if m.Inputs < 1 || len(m.Layers) == 0 {
		return fmt.Errorf("validate model: %d inputs, %d layers: %w", m.Inputs, len(m.Layers), ErrBadModel)
	}
	if len(m.Norm.Mean) != m.Inputs || len(m.Norm.Std) != m.Inputs {
		return fmt.Errorf("validate model: normalization has %d/%d entries for %d inputs: %w", len(m.Norm.Mean), len(m.Norm.Std), m.Inputs, ErrBadModel)
	}
	in := m.Inputs
	for i, l := range m.Layers {
		if l.In != in || l.Out < 1 || len(l.W) != l.In*l.Out || len(l.B) != l.Out {
			return fmt.Errorf("validate model: layer %d is %dx%d with %d weights, %d biases (input %d): %w", i, l.Out, l.In, len(l.W), len(l.B), in, ErrBadModel)
		}
		in = l.Out
	}
	if in != m.Outputs() {
		return fmt.Errorf("validate model: last layer has %d outputs, task %s needs %d: %w", in, m.Task, m.Outputs(), ErrBadModel)
	}
	if m.Task == Regression && !(m.TargetStd > 0) {
		return fmt.Errorf("validate model: regression target std %v: %w", m.TargetStd, ErrBadModel)
	}
	return nil
}

// Clone returns a deep copy.
func (m *Model) Clone() *Model {
	c := *m
	c.Norm = Normalization{Mean: append([]float64(nil), m.Norm.Mean...), Std: append([]float64(nil), m.Norm.Std...)}
	c.Layers = make([]Layer, len(m.Layers))
	for i, l := range m.Layers {
		c.Layers[i] = Layer{In: l.In, Out: l.Out, W: append([]float64(nil), l.W...), B: append([]float64(nil), l.B...)}
	}
	return &c
}

// ParamCount is the number of parameters (weights and biases).
func (m *Model) ParamCount() int {
	n := 0
	for _, l := range m.Layers {
		n += len(l.W) + len(l.B)
	}
	return n
}

// NonzeroCount is the number of parameters that are not zero.
func (m *Model) NonzeroCount() int {
	n := 0
	for _, l := range m.Layers {
		for _, v := range l.W {
			if v != 0 {
				n++
			}
		}
		for _, v := range l.B {
			if v != 0 {
				n++
			}
		}
	}
	return n
}

// Sparsity is the fraction of weights (not biases) that are zero.
func (m *Model) Sparsity() float64 {
	zero, total := 0, 0
	for _, l := range m.Layers {
		total += len(l.W)
		for _, v := range l.W {
			if v == 0 {
				zero++
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(zero) / float64(total)
}

// Load decodes a model written with json.Marshal and validates it.
func Load(data []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("load model: %w: %w", ErrBadModel, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	return &m, nil
}

// scratch holds per-layer activations for one sample.
type scratch struct {
	z    []float64   // standardized input
	acts [][]float64 // acts[i] = output of layer i (after ReLU for hidden layers)
}

func (m *Model) newScratch() *scratch {
	s := &scratch{z: make([]float64, m.Inputs), acts: make([][]float64, len(m.Layers))}
	for i, l := range m.Layers {
		s.acts[i] = make([]float64, l.Out)
	}
	return s
}

// forward runs the network on the standardized input s.z and returns the raw
// output of the last layer (logits, or the standardized regression value).
func (m *Model) forward(s *scratch) []float64 {
	in := s.z
	last := len(m.Layers) - 1
	for i, l := range m.Layers {
		out := s.acts[i]
		for o := 0; o < l.Out; o++ {
			sum := l.B[o] + floats.Dot(l.W[o*l.In:(o+1)*l.In], in)
			if i != last && sum < 0 {
				sum = 0
			}
			out[o] = sum
		}
		in = out
	}
	return in
}

// Logits returns the raw outputs of the last layer for raw feature rows:
// logits for classification, the standardized value for regression.
func (m *Model) Logits(rows [][]float64) ([][]float64, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("logits: %w", err)
	}
	s := m.newScratch()
	out := make([][]float64, len(rows))
	for i, r := range rows {
		if len(r) != m.Inputs {
			return nil, fmt.Errorf("logits: row %d has %d features, want %d: %w", i, len(r), m.Inputs, ErrBadData)
		}
		m.Norm.Apply(s.z, r)
		out[i] = append([]float64(nil), m.forward(s)...)
	}
	return out, nil
}

// Predict runs the model on raw feature rows. Each result row is what the
// exported TFLite model outputs: class probabilities (multiclass), the
// probability of class 1 (binary, one value) or the predicted value
// (regression, one value).
func (m *Model) Predict(rows [][]float64) ([][]float64, error) {
	out, err := m.Logits(rows)
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	for _, o := range out {
		m.head(o, o)
	}
	return out, nil
}

// head turns raw outputs into predictions.
func (m *Model) head(dst, raw []float64) {
	switch m.Task {
	case Multiclass:
		softmax(dst, raw, 1)
	case Binary:
		dst[0] = sigmoid(raw[0])
	case Regression:
		dst[0] = raw[0]*m.TargetStd + m.TargetMean
	}
}

// Classify returns the predicted class of each row (classification tasks).
func (m *Model) Classify(rows [][]float64) ([]int, error) {
	if m.Task == Regression {
		return nil, fmt.Errorf("classify: regression model: %w", ErrBadModel)
	}
	logits, err := m.Logits(rows)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	cls := make([]int, len(logits))
	for i, l := range logits {
		if m.Task == Binary {
			if l[0] > 0 {
				cls[i] = 1
			}
			continue
		}
		best := 0
		for c, v := range l {
			if v > l[best] {
				best = c
			}
		}
		cls[i] = best
	}
	return cls, nil
}

// softmax writes softmax(x/T) into dst (dst may alias x).
func softmax(dst, x []float64, t float64) {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, v/t)
	}
	sum := 0.0
	for i, v := range x {
		e := math.Exp(v/t - mx)
		dst[i] = e
		sum += e
	}
	for i := range dst[:len(x)] {
		dst[i] /= sum
	}
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// logSigmoid returns log(sigmoid(x)) without overflow.
func logSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}
