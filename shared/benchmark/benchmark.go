// Package benchmark measures the models of one version side by side in the Go
// runtime (shared/infer): file size, test-split metrics, agreement of each
// model with a reference model, and latency per single-row inference. The
// quantize step writes the result as benchmark.json, `mega models NAME` and
// the report show it, and the gate reads it. The gate (Gate, then Combine
// with BaselineCheck, TeacherCheck and ChampionCheck, gate.go) passes only
// when every check passes; Baseline is the score of always answering the
// training split's majority class (or mean).
//
// Latency is measured, never asserted: median and p90 over repeated
// single-row invocations after warm-up, on whatever machine runs the step.
package benchmark

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/megapipe/mega/shared/eval"
	"github.com/megapipe/mega/shared/infer"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/tflite"
)

// Model is one benchmarked model.
type Model struct {
	Name      string         `json:"name"`
	Bytes     int            `json:"bytes"`
	Scores    nn.Scores      `json:"scores"`
	Agreement *float64       `json:"agreement,omitempty"` // share of test rows where it predicts what the reference predicts
	LatencyNs Latency        `json:"latency_ns"`
	MACs      int64          `json:"macs"`
	Extra     map[string]any `json:"extra,omitempty"`
	outputs   [][]float64
}

// Latency summarizes single-row inference times.
type Latency struct {
	Median int64 `json:"median"`
	P90    int64 `json:"p90"`
	Runs   int   `json:"runs"`
}

// Report is benchmark.json.
type Report struct {
	Task      nn.Task  `json:"task"`
	TestRows  int      `json:"test_rows"`
	Reference string   `json:"agreement_reference"`
	Models    []*Model `json:"models"`
}

// Find returns the named model.
func (r *Report) Find(name string) *Model {
	for _, m := range r.Models {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Run evaluates a .tflite model on test rows (raw feature values) with labels
// y, and times single-row inference over latencyRuns runs.
func Run(ctx context.Context, name string, model []byte, task nn.Task, x [][]float32, y []float64, latencyRuns int) (*Model, error) {
	m, err := tflite.Parse(model)
	if err != nil {
		return nil, fmt.Errorf("benchmark %s: %w", name, err)
	}
	ip, err := infer.New(m, infer.Options{})
	if err != nil {
		return nil, fmt.Errorf("benchmark %s: %w", name, err)
	}
	if ip.NumInputs() != 1 || ip.NumOutputs() != 1 {
		return nil, fmt.Errorf("benchmark %s: %d inputs, %d outputs; want 1 and 1", name, ip.NumInputs(), ip.NumOutputs())
	}
	out := &Model{Name: name, Bytes: len(model), MACs: ip.MACs()}
	out.outputs = make([][]float64, len(x))
	for i, row := range x {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := Predict(ip, row); err != nil {
			return nil, fmt.Errorf("benchmark %s: row %d: %w", name, i, err)
		}
		o := ip.Output(0).Float32s()
		if o == nil {
			return nil, fmt.Errorf("benchmark %s: output is not float32 (use float model I/O)", name)
		}
		out.outputs[i] = make([]float64, len(o))
		for j, v := range o {
			out.outputs[i][j] = float64(v)
		}
	}
	if out.Scores, err = Score(task, out.outputs, y); err != nil {
		return nil, fmt.Errorf("benchmark %s: %w", name, err)
	}
	if latencyRuns > 0 && len(x) > 0 {
		times := make([]int64, 0, latencyRuns)
		for i := range latencyRuns + latencyRuns/10 {
			row := x[i%len(x)]
			t0 := time.Now()
			_ = Predict(ip, row)
			if i >= latencyRuns/10 {
				times = append(times, time.Since(t0).Nanoseconds())
			}
		}
		slices.Sort(times)
		out.LatencyNs = Latency{Median: times[len(times)/2], P90: times[len(times)*9/10], Runs: len(times)}
	}
	return out, nil
}

// Predict runs one row through an interpreter with a float32 input.
func Predict(ip *infer.Interpreter, row []float32) error {
	in := ip.Input(0).Float32s()
	if in == nil {
		return fmt.Errorf("input is not float32")
	}
	if len(in) != len(row) {
		return fmt.Errorf("row has %d values, the model takes %d", len(row), len(in))
	}
	copy(in, row)
	return ip.Invoke()
}

// Score turns model outputs into scores: class probabilities (one column per
// class, or one column with P(class 1) for binary) or regression values.
func Score(task nn.Task, outputs [][]float64, y []float64) (nn.Scores, error) {
	switch task {
	case nn.Regression:
		pred := make([]float64, len(outputs))
		for i, o := range outputs {
			pred[i] = o[0]
		}
		r, err := eval.Regress(y, pred)
		if err != nil {
			return nn.Scores{}, err
		}
		return nn.Scores{Regression: &r}, nil
	default:
		prob := Probabilities(task, outputs)
		yt := make([]int, len(y))
		for i, v := range y {
			yt[i] = int(v)
		}
		c, err := eval.Classify(yt, prob)
		if err != nil {
			return nn.Scores{}, err
		}
		return nn.Scores{Classification: &c}, nil
	}
}

// Probabilities expands binary outputs [p1] to [1-p1, p1].
func Probabilities(task nn.Task, outputs [][]float64) [][]float64 {
	if task != nn.Binary {
		return outputs
	}
	prob := make([][]float64, len(outputs))
	for i, o := range outputs {
		prob[i] = []float64{1 - o[0], o[0]}
	}
	return prob
}

// Agree sets m.Agreement against ref: for classifiers the share of rows with
// the same predicted class, for regression the share within 1% of the
// reference value's magnitude (at least 1e-6).
func Agree(task nn.Task, ref, m *Model) {
	if len(ref.outputs) == 0 || len(ref.outputs) != len(m.outputs) {
		return
	}
	same := 0
	for i := range ref.outputs {
		if task == nn.Regression {
			a, b := ref.outputs[i][0], m.outputs[i][0]
			if abs(a-b) <= max(1e-6, 0.01*abs(a)) {
				same++
			}
			continue
		}
		if argmax(Probabilities(task, ref.outputs[i:i+1])[0]) == argmax(Probabilities(task, m.outputs[i:i+1])[0]) {
			same++
		}
	}
	a := float64(same) / float64(len(ref.outputs))
	m.Agreement = &a
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func argmax(p []float64) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// Verdict is the gate's decision.
type Verdict struct {
	Passed bool    `json:"passed"`
	Reason string  `json:"reason"`
	Metric string  `json:"metric"`
	Float  float64 `json:"float"`
	Int8   float64 `json:"int8"`
	Drop   float64 `json:"drop"`
	Bound  float64 `json:"bound"`
	// Checks are every test of the gate (Combine), the quantization one
	// first; Passed is true when all pass. Metric..Bound describe the
	// quantization check.
	Checks []Check `json:"checks,omitempty"`
}

// Gate compares the int8 model with the float student: for classifiers the
// drop in test accuracy must be at most bound (0.01 = one point); for
// regression the relative increase in test RMSE must be at most bound.
func Gate(task nn.Task, student, int8 *Model, bound float64) Verdict {
	v := Verdict{Bound: bound}
	if task == nn.Regression {
		v.Metric = "rmse"
		v.Float, v.Int8 = student.Scores.Regression.RMSE, int8.Scores.Regression.RMSE
		v.Drop = (v.Int8 - v.Float) / max(v.Float, 1e-12)
	} else {
		v.Metric = "accuracy"
		v.Float, v.Int8 = student.Scores.Classification.Accuracy, int8.Scores.Classification.Accuracy
		v.Drop = v.Float - v.Int8
	}
	v.Passed = v.Drop <= bound+1e-12
	if v.Passed {
		v.Reason = fmt.Sprintf("int8 %s %.4f vs float student %.4f: drop %.4f within %.4f", v.Metric, v.Int8, v.Float, v.Drop, bound)
	} else {
		v.Reason = fmt.Sprintf("int8 %s %.4f vs float student %.4f: drop %.4f exceeds %.4f", v.Metric, v.Int8, v.Float, v.Drop, bound)
	}
	return v
}

// RunUnlabeled runs a model over rows without labels (a dropped model's
// calibration rows): outputs, size and latency, no scores.
func RunUnlabeled(ctx context.Context, name string, model []byte, x [][]float32, latencyRuns int) (*Model, error) {
	y := make([]float64, len(x))
	m, err := Run(ctx, name, model, nn.Regression, x, y, latencyRuns)
	if err != nil {
		return nil, err
	}
	m.Scores = nn.Scores{}
	return m, nil
}
