package serve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"

	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/infer"
	"github.com/megapipe/mega/shared/tflite"
)

// Tasks, as the registry and package features name them.
const (
	TaskBinary     = "binary"
	TaskMulticlass = "multiclass"
	TaskRegression = "regression"
)

// MaxBatch is the largest batch one interpreter runs; larger requests run
// in chunks of MaxBatch.
const MaxBatch = 64

// Errors.
var (
	// ErrBadModel marks an artifact that cannot be served (corrupt, wrong
	// checksum, shapes that do not fit the feature spec).
	ErrBadModel = errors.New("serve: model refused")
	// ErrBusy means no interpreter became free before the request's deadline.
	ErrBusy = errors.New("serve: no interpreter free before the deadline")
)

// ModelConfig describes a model version to load.
type ModelConfig struct {
	Name    string
	Version string // registry version, "v3"
	// TFLite is the model file; SHA256, when set, must match it.
	TFLite []byte
	SHA256 string
	// Spec turns raw feature values into the model input; nil means the
	// model takes rows of numbers in input order.
	Spec *features.Spec
	// Task is binary, multiclass or regression; empty means the spec's task,
	// else inferred from the model's last operator.
	Task string
	// Workers bounds the interpreters running at once (default GOMAXPROCS).
	Workers int
	// Requant selects the int8 arithmetic (default XNNPack, as the official
	// runtime's default build).
	Requant infer.Requant
}

// Model is one loaded, warmed model version: a bounded pool of
// interpreters over one parsed model.
type Model struct {
	Name    string
	Version string
	SHA256  string
	Task    string
	Classes []string // class labels (classifiers)
	Spec    *features.Spec

	width   int // model input width
	outputs int // values per instance in output 0
	inType  tflite.TensorType
	inScale float32
	inZP    int32
	outQ    bool
	outS    float32
	outZP   int32
	fixed   bool // the model cannot be resized: run one instance at a time
	names   []string
	index   map[string]int
	base    *infer.Interpreter
	opts    infer.Options
	pool    chan *worker
	size    int
}

// worker holds one interpreter per batch bucket (1, 2, 4, ... MaxBatch).
type worker struct {
	ips [8]*infer.Interpreter
}

// LoadModel parses, checks and warms a model.
func LoadModel(cfg ModelConfig) (*Model, error) {
	sum := sha256.Sum256(cfg.TFLite)
	got := hex.EncodeToString(sum[:])
	if cfg.SHA256 != "" && !strings.EqualFold(cfg.SHA256, got) {
		return nil, fmt.Errorf("%w: %s/%s: sha256 %s, the registry says %s", ErrBadModel, cfg.Name, cfg.Version, got, cfg.SHA256)
	}
	tm, err := tflite.Parse(cfg.TFLite)
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s: %w", ErrBadModel, cfg.Name, cfg.Version, err)
	}
	opts := infer.Options{Requant: cfg.Requant}
	ip, err := infer.New(tm, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s: %w", ErrBadModel, cfg.Name, cfg.Version, err)
	}
	if ip.NumInputs() != 1 || ip.NumOutputs() < 1 {
		return nil, fmt.Errorf("%w: %s/%s: %d inputs and %d outputs, want one input and an output", ErrBadModel, cfg.Name, cfg.Version, ip.NumInputs(), ip.NumOutputs())
	}
	m := &Model{Name: cfg.Name, Version: cfg.Version, SHA256: got, Spec: cfg.Spec, base: ip, opts: opts}
	in, out := ip.Input(0), ip.Output(0)
	if len(in.Shape) == 0 || len(in.Shape) > 2 || (len(in.Shape) == 2 && in.Shape[0] != 1) {
		return nil, fmt.Errorf("%w: %s/%s: input shape %v, want [1, features]", ErrBadModel, cfg.Name, cfg.Version, in.Shape)
	}
	m.width = in.Shape[len(in.Shape)-1]
	m.outputs = out.NumElements()
	if m.width <= 0 || m.outputs <= 0 {
		return nil, fmt.Errorf("%w: %s/%s: empty input or output", ErrBadModel, cfg.Name, cfg.Version)
	}
	m.inType = in.Type
	switch in.Type {
	case tflite.Float32:
	case tflite.Int8:
		m.inScale, m.inZP = in.Scale(), in.ZeroPoint()
		if !(m.inScale > 0) || math.IsInf(float64(m.inScale), 0) {
			return nil, fmt.Errorf("%w: %s/%s: int8 input scale %v", ErrBadModel, cfg.Name, cfg.Version, m.inScale)
		}
	default:
		return nil, fmt.Errorf("%w: %s/%s: input type %s, want FLOAT32 or INT8", ErrBadModel, cfg.Name, cfg.Version, in.Type)
	}
	switch out.Type {
	case tflite.Float32:
	case tflite.Int8:
		m.outQ, m.outS, m.outZP = true, out.Scale(), out.ZeroPoint()
	default:
		return nil, fmt.Errorf("%w: %s/%s: output type %s, want FLOAT32 or INT8", ErrBadModel, cfg.Name, cfg.Version, out.Type)
	}
	if cfg.Spec != nil {
		if cfg.Spec.Width() != m.width {
			return nil, fmt.Errorf("%w: %s/%s: the feature spec makes %d inputs, the model takes %d", ErrBadModel, cfg.Name, cfg.Version, cfg.Spec.Width(), m.width)
		}
		for _, f := range cfg.Spec.Features {
			m.names = append(m.names, f.Name)
		}
	} else {
		for i := range m.width {
			m.names = append(m.names, "x"+strconv.Itoa(i))
		}
	}
	m.index = make(map[string]int, len(m.names))
	for i, n := range m.names {
		m.index[n] = i
	}
	if err := m.setTask(cfg, tm); err != nil {
		return nil, err
	}
	m.size = cfg.Workers
	if m.size <= 0 {
		m.size = runtime.GOMAXPROCS(0)
	}
	m.pool = make(chan *worker, m.size)
	for range m.size {
		w := &worker{}
		if _, err := m.interp(w, 1); err != nil {
			return nil, err
		}
		m.pool <- w
	}
	if err := m.warm(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Model) setTask(cfg ModelConfig, tm *tflite.Model) error {
	m.Task = cfg.Task
	if m.Task == "" && cfg.Spec != nil {
		m.Task = string(cfg.Spec.Task)
	}
	if m.Task == "" {
		m.Task = inferTask(tm, m.outputs)
	}
	switch m.Task {
	case TaskRegression:
		if m.outputs != 1 {
			return fmt.Errorf("%w: %s/%s: regression model with %d outputs", ErrBadModel, m.Name, m.Version, m.outputs)
		}
		return nil
	case TaskBinary:
		if m.outputs != 1 {
			return fmt.Errorf("%w: %s/%s: binary model with %d outputs, want the probability of class 1", ErrBadModel, m.Name, m.Version, m.outputs)
		}
	case TaskMulticlass:
		if m.outputs < 2 {
			return fmt.Errorf("%w: %s/%s: multiclass model with %d outputs", ErrBadModel, m.Name, m.Version, m.outputs)
		}
	default:
		return fmt.Errorf("%w: %s/%s: unknown task %q", ErrBadModel, m.Name, m.Version, m.Task)
	}
	classes := 2
	if m.Task == TaskMulticlass {
		classes = m.outputs
	}
	if cfg.Spec != nil && len(cfg.Spec.Classes) > 0 {
		if len(cfg.Spec.Classes) != classes {
			return fmt.Errorf("%w: %s/%s: the spec has %d classes, the model %d", ErrBadModel, m.Name, m.Version, len(cfg.Spec.Classes), classes)
		}
		m.Classes = cfg.Spec.Classes
		return nil
	}
	for i := range classes {
		m.Classes = append(m.Classes, strconv.Itoa(i))
	}
	return nil
}

// inferTask guesses the task of a model without metadata from the operator
// that makes output 0: SOFTMAX is multiclass, LOGISTIC binary, anything else
// regression.
func inferTask(tm *tflite.Model, outputs int) string {
	sg := &tm.Subgraphs[0]
	t := sg.Outputs[0]
	for range 4 {
		found := false
		for _, op := range sg.Operators {
			if len(op.Outputs) == 0 || op.Outputs[0] != t {
				continue
			}
			found = true
			switch tm.OperatorCodes[op.OpcodeIndex].Builtin {
			case tflite.OpSoftmax:
				if outputs > 1 {
					return TaskMulticlass
				}
			case tflite.OpLogistic:
				if outputs == 1 {
					return TaskBinary
				}
			case tflite.OpDequantize, tflite.OpQuantize, tflite.OpReshape:
				if len(op.Inputs) > 0 && op.Inputs[0] >= 0 {
					t = op.Inputs[0]
					continue
				}
			}
			return TaskRegression
		}
		if !found {
			break
		}
	}
	return TaskRegression
}

// interp returns w's interpreter for a batch bucket, making it on first use.
func (m *Model) interp(w *worker, bucket int) (*infer.Interpreter, error) {
	k := bucketIndex(bucket)
	if ip := w.ips[k]; ip != nil {
		return ip, nil
	}
	ip, err := m.base.Clone()
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s: clone: %w", ErrBadModel, m.Name, m.Version, err)
	}
	shape := []int{bucket, m.width}
	if len(ip.Input(0).Shape) == 1 {
		shape = []int{m.width}
	}
	if bucket > 1 {
		if err := ip.ResizeInput(0, shape); err != nil {
			return nil, err
		}
		if ip.Output(0).NumElements() != bucket*m.outputs {
			return nil, fmt.Errorf("serve: %s/%s: output does not follow the batch", m.Name, m.Version)
		}
	}
	w.ips[k] = ip
	return ip, nil
}

func bucketIndex(b int) int {
	k := 0
	for 1<<k < b {
		k++
	}
	return k
}

// warm runs every worker once on zeros, so the first request finds pages
// touched and code paths hot; it also checks the batch resize.
func (m *Model) warm() error {
	x := make([]float32, m.width)
	out := make([]float32, m.outputs)
	for range m.size {
		if err := m.Run(context.Background(), x, 1, out); err != nil {
			return fmt.Errorf("%w: %s/%s: warm-up: %w", ErrBadModel, m.Name, m.Version, err)
		}
	}
	w := <-m.pool
	_, err := m.interp(w, 2)
	m.pool <- w
	if err != nil {
		m.fixed = true
	}
	return nil
}

// Width is the length of the model input vector.
func (m *Model) Width() int { return m.width }

// Outputs is the number of output values per instance.
func (m *Model) Outputs() int { return m.outputs }

// FeatureNames are the raw features an instance names, in row order.
func (m *Model) FeatureNames() []string { return m.names }

// Run computes outputs for n instances: x holds n*Width input values, out
// receives n*Outputs values (probabilities or values, dequantized). It waits
// for a free interpreter until ctx ends.
func (m *Model) Run(ctx context.Context, x []float32, n int, out []float32) error {
	if len(x) != n*m.width || len(out) != n*m.outputs {
		return fmt.Errorf("serve: run: %d inputs and %d outputs for %d instances", len(x), len(out), n)
	}
	var w *worker
	select {
	case w = <-m.pool:
	default:
		select {
		case w = <-m.pool:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
		}
	}
	defer func() { m.pool <- w }()
	for i := 0; i < n; {
		chunk := min(n-i, MaxBatch)
		if m.fixed {
			chunk = 1
		}
		bucket := 1
		for bucket < chunk {
			bucket <<= 1
		}
		ip, err := m.interp(w, bucket)
		if err != nil {
			return err
		}
		m.fill(ip.Input(0), x[i*m.width:(i+chunk)*m.width], bucket*m.width)
		if err := ip.Invoke(); err != nil {
			return fmt.Errorf("serve: invoke %s/%s: %w", m.Name, m.Version, err)
		}
		m.read(ip.Output(0), out[i*m.outputs:(i+chunk)*m.outputs])
		i += chunk
		if err := ctx.Err(); err != nil && i < n {
			return err
		}
	}
	return nil
}

func (m *Model) fill(t *infer.Tensor, x []float32, total int) {
	if m.inType == tflite.Float32 {
		d := t.Float32s()[:total]
		copy(d, x)
		clear(d[len(x):])
		return
	}
	d := t.Int8s()[:total]
	inv := 1 / m.inScale
	for i, v := range x {
		q := int32(math.RoundToEven(float64(v*inv))) + m.inZP
		d[i] = int8(max(-128, min(127, q)))
	}
	for i := len(x); i < total; i++ {
		d[i] = int8(m.inZP)
	}
}

func (m *Model) read(t *infer.Tensor, out []float32) {
	if !m.outQ {
		copy(out, t.Float32s())
		return
	}
	q := t.Int8s()
	for i := range out {
		out[i] = float32(int32(q[i])-m.outZP) * m.outS
	}
}
