package quant

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"

	"github.com/megapipe/mega/shared/infer"
	"github.com/megapipe/mega/shared/tflite"
)

// Sentinel errors.
var (
	// ErrUnsupported means the model uses an operator or type the quantizer does not handle.
	ErrUnsupported = errors.New("unsupported")
	// ErrNoRange means an activation has no calibration range.
	ErrNoRange = errors.New("no calibration range")
	// ErrBadCalibration means calibration rows do not fit the model's inputs.
	ErrBadCalibration = errors.New("bad calibration data")
)

// IO chooses the type of the quantized model's inputs and outputs.
type IO int

const (
	// FloatIO keeps float32 inputs and outputs, with QUANTIZE and DEQUANTIZE ops.
	FloatIO IO = iota
	// Int8IO makes the inputs and outputs int8.
	Int8IO
)

// ParseIO reads "float" or "int8".
func ParseIO(s string) (IO, error) {
	switch s {
	case "float", "float32", "":
		return FloatIO, nil
	case "int8":
		return Int8IO, nil
	}
	return 0, fmt.Errorf("quant: unknown io type %q (want float or int8)", s)
}

func (io IO) String() string {
	if io == Int8IO {
		return "int8"
	}
	return "float"
}

// Options configure Quantize.
type Options struct {
	// IO is the type of the model's inputs and outputs.
	IO IO
	// PerTensorWeights quantizes weights with one scale per tensor instead of
	// one per output channel.
	PerTensorWeights bool
	// NoInputEqualization turns off input equalization (see Equalization in
	// the package documentation).
	NoInputEqualization bool
}

// Calibration yields calibration samples: one []float32 per model input,
// each holding that input tensor's values (in its shape, row-major). A
// non-nil error ends calibration with that error.
type Calibration = iter.Seq2[[][]float32, error]

// Rows returns a calibration over rows of a single-input model.
func Rows(rows [][]float32) Calibration {
	return func(yield func([][]float32, error) bool) {
		for _, r := range rows {
			if !yield([][]float32{r}, nil) {
				return
			}
		}
	}
}

// Samples returns a calibration over samples of a multi-input model.
func Samples(samples [][][]float32) Calibration {
	return func(yield func([][]float32, error) bool) {
		for _, s := range samples {
			if !yield(s, nil) {
				return
			}
		}
	}
}

// Range is a closed interval of real values.
type Range struct {
	Min, Max float32
}

// Report describes a quantization.
type Report struct {
	// Samples is the number of calibration samples run (0 when the ranges
	// came from the model's stored min/max).
	Samples int `json:"calibration_samples"`
	// RangeSource is "calibration" or "model min/max".
	RangeSource string `json:"range_source"`
	IO          string `json:"io"`
	// Operators counts the quantized model's operators by name.
	Operators map[string]int `json:"operators"`
	// Tensors lists the quantization of every activation, in tensor order.
	Tensors []TensorReport `json:"tensors"`
	// EqualizedInputs names the float inputs that were rescaled per feature
	// in float before quantization (see the package documentation).
	EqualizedInputs []string `json:"equalized_inputs,omitempty"`
	// Warnings are facts about the result a user should know (for example an
	// operator the official runtime's XNNPACK delegate will refuse).
	Warnings []string `json:"warnings,omitempty"`
	// ClampedBias counts bias values that did not fit in int32.
	ClampedBias int `json:"clamped_bias,omitempty"`
	// FloatBytes and Int8Bytes are the encoded sizes of the two models.
	FloatBytes int `json:"float_bytes"`
	Int8Bytes  int `json:"int8_bytes"`
}

// TensorReport is the quantization chosen for one activation tensor.
type TensorReport struct {
	Index     int     `json:"index"`
	Name      string  `json:"name"`
	Min       float32 `json:"min"`
	Max       float32 `json:"max"`
	Scale     float32 `json:"scale"`
	ZeroPoint int64   `json:"zero_point"`
}

// Quantize returns the int8 version of a float32 model. With a nil calib,
// activation ranges come from the min/max stored in the model. The input
// model is not modified.
func Quantize(ctx context.Context, m *tflite.Model, calib Calibration, opts Options) (*tflite.Model, Report, error) {
	var rep Report
	if len(m.Subgraphs) != 1 {
		return nil, rep, fmt.Errorf("quantize: %w: %d subgraphs (want 1)", ErrUnsupported, len(m.Subgraphs))
	}
	if fb, err := m.Marshal(); err == nil {
		rep.FloatBytes = len(fb)
	} else {
		return nil, rep, fmt.Errorf("quantize: %w", err)
	}
	m, _, err := splitSharedConsts(m)
	if err != nil {
		return nil, rep, fmt.Errorf("quantize: %w", err)
	}
	g, err := newGraph(m)
	if err != nil {
		return nil, rep, fmt.Errorf("quantize: %w", err)
	}
	var ranges map[int]Range
	var features map[int][]Range
	if calib != nil {
		ranges, features, rep.Samples, err = calibrate(ctx, m, g, calib)
		rep.RangeSource = "calibration"
	} else {
		ranges, err = storedRanges(m, g)
		rep.RangeSource = "model min/max"
	}
	if err != nil {
		return nil, rep, fmt.Errorf("quantize: %w", err)
	}
	var eq *equalization
	if opts.IO == FloatIO && !opts.NoInputEqualization && features != nil {
		if eq, err = planEqualization(g, features); err != nil {
			return nil, rep, fmt.Errorf("quantize: %w", err)
		}
	}
	if eq != nil {
		if g, err = eq.apply(ranges); err != nil {
			return nil, rep, fmt.Errorf("quantize: %w", err)
		}
		rep.EqualizedInputs = eq.names()
	}
	q, err := g.quantize(ranges, opts, &rep)
	if err != nil {
		return nil, rep, fmt.Errorf("quantize: %w", err)
	}
	if eq != nil {
		eq.splice(q)
		if err := q.Validate(); err != nil {
			return nil, rep, fmt.Errorf("quantize: %w", err)
		}
		rep.Operators = map[string]int{}
		for _, op := range q.Subgraphs[0].Operators {
			rep.Operators[q.OperatorCodes[op.OpcodeIndex].Builtin.String()]++
		}
	}
	b, err := q.Marshal()
	if err != nil {
		return nil, rep, fmt.Errorf("quantize: %w", err)
	}
	rep.Int8Bytes = len(b)
	rep.IO = opts.IO.String()
	return q, rep, nil
}

// calibrate runs the float model over the samples and records the range of
// every activation tensor.
func calibrate(ctx context.Context, m *tflite.Model, g *graph, calib Calibration) (map[int]Range, map[int][]Range, int, error) {
	ip, err := infer.New(m, infer.Options{PreserveAll: true})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("calibrate: %w", err)
	}
	ranges := map[int]Range{}
	features := map[int][]Range{} // per last-dimension channel of each graph input
	n := 0
	for sample, err := range calib {
		if err != nil {
			return nil, nil, n, fmt.Errorf("calibrate: sample %d: %w", n, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, n, fmt.Errorf("calibrate: %w", err)
		}
		if len(sample) != ip.NumInputs() {
			return nil, nil, n, fmt.Errorf("calibrate: sample %d: %w: %d inputs, the model has %d", n, ErrBadCalibration, len(sample), ip.NumInputs())
		}
		for i, vals := range sample {
			if in := ip.Input(i); in.Type == tflite.Int32 {
				// Integer inputs (token ids) come as whole numbers.
				if err := setIntInput(in, vals); err != nil {
					return nil, nil, n, fmt.Errorf("calibrate: sample %d input %d: %w", n, i, err)
				}
				continue
			}
			dst := ip.Input(i).Float32s()
			if shape := ip.Input(i).Shape; len(dst) != len(vals) && len(shape) >= 2 {
				// A sample of a different batch size (rows for a model
				// exported with a fixed batch, or several rows at once).
				inner := 1
				for _, d := range shape[1:] {
					inner *= d
				}
				if inner > 0 && len(vals) > 0 && len(vals)%inner == 0 {
					if err := ip.ResizeInput(i, append([]int{len(vals) / inner}, shape[1:]...)); err != nil {
						return nil, nil, n, fmt.Errorf("calibrate: sample %d input %d: %w", n, i, err)
					}
					dst = ip.Input(i).Float32s()
				}
			}
			if len(dst) != len(vals) {
				return nil, nil, n, fmt.Errorf("calibrate: sample %d input %d: %w: %d values, the tensor holds %d", n, i, ErrBadCalibration, len(vals), len(dst))
			}
			for _, v := range vals {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return nil, nil, n, fmt.Errorf("calibrate: sample %d input %d: %w: non-finite value", n, i, ErrBadCalibration)
				}
			}
			copy(dst, vals)
		}
		if err := ip.Invoke(); err != nil {
			return nil, nil, n, fmt.Errorf("calibrate: sample %d: %w", n, err)
		}
		for _, t := range g.sg.Inputs {
			vals := ip.Tensor(t).Float32s()
			shape := g.sg.Tensors[t].Shape
			if len(vals) == 0 || len(shape) == 0 || shape[len(shape)-1] == 0 {
				continue
			}
			f := shape[len(shape)-1]
			fr := features[t]
			if fr == nil {
				fr = make([]Range, f)
				for k := range fr {
					fr[k] = Range{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
				}
				features[t] = fr
			}
			for k, v := range vals {
				fr[k%f].Min = min(fr[k%f].Min, v)
				fr[k%f].Max = max(fr[k%f].Max, v)
			}
		}
		for _, t := range g.activations {
			vals := ip.Tensor(t).Float32s()
			if len(vals) == 0 {
				continue
			}
			r, seen := ranges[t]
			if !seen {
				r = Range{Min: vals[0], Max: vals[0]}
			}
			for _, v := range vals {
				r.Min = min(r.Min, v)
				r.Max = max(r.Max, v)
			}
			ranges[t] = r
		}
		n++
	}
	if n == 0 {
		return nil, nil, 0, fmt.Errorf("calibrate: %w: no samples", ErrBadCalibration)
	}
	return ranges, features, n, nil
}

// storedRanges reads the min/max that the model stores for each activation.
func storedRanges(m *tflite.Model, g *graph) (map[int]Range, error) {
	ranges := map[int]Range{}
	sg := &m.Subgraphs[0]
	for _, t := range g.activations {
		q := sg.Tensors[t].Quantization
		if q == nil || len(q.Min) == 0 || len(q.Min) != len(q.Max) {
			continue // tensors tied to another, or fixed (softmax), need none; assign reports the rest
		}
		// Per-channel min/max (as some converter test models carry) give the
		// tensor's overall range.
		r := Range{Min: slices.Min(q.Min), Max: slices.Max(q.Max)}
		if math.IsNaN(float64(r.Min)) || math.IsNaN(float64(r.Max)) || math.IsInf(float64(r.Min), 0) || math.IsInf(float64(r.Max), 0) {
			return nil, fmt.Errorf("tensor %d %q: %w: stored min/max %v..%v", t, sg.Tensors[t].Name, ErrNoRange, r.Min, r.Max)
		}
		ranges[t] = r
	}
	return ranges, nil
}

// ActivationParams returns the int8 scale and zero point for a range, as the
// TFLite quantizer computes them: the range is widened to include 0,
// scale = (max-min)/255 and zp = round(-128 - min/scale) clamped to int8.
func ActivationParams(r Range) (scale float32, zeroPoint int64) {
	lo := math.Min(float64(r.Min), 0)
	hi := math.Max(float64(r.Max), 0)
	if hi-lo == 0 {
		// A tensor that is always zero: any scale represents it.
		return 1, -128
	}
	s := (hi - lo) / 255
	zp := math.Round(-128 - lo/s)
	return float32(s), int64(min(127, max(-128, zp)))
}

// QuantizeWeights quantizes w (shape dims) symmetrically to int8 along axis
// (or per tensor when axis < 0): scale = max|w|/127 per channel and
// q = clamp(round(w * (127/max|w|)), -127, 127).
func QuantizeWeights(w []float32, dims []int, axis int) (q []int8, scales []float32) {
	channels, inner := 1, 1
	if axis >= 0 {
		channels = dims[axis]
		for _, d := range dims[axis+1:] {
			inner *= d
		}
	} else {
		inner = len(w)
	}
	absmax := make([]float32, channels)
	ch := func(i int) int { return (i / inner) % channels }
	for i, v := range w {
		c := ch(i)
		absmax[c] = max(absmax[c], float32(math.Abs(float64(v))))
	}
	scales = make([]float32, channels)
	inv := make([]float32, channels)
	for c, a := range absmax {
		if a == 0 {
			scales[c], inv[c] = 1, 0 // an all-zero channel
			continue
		}
		scales[c] = a / 127
		inv[c] = 127 / a
	}
	q = make([]int8, len(w))
	for i, v := range w {
		r := math.Round(float64(v * inv[ch(i)]))
		q[i] = int8(min(127, max(-127, r)))
	}
	return q, scales
}

// QuantizeBias quantizes b to int32 with scale s_in*s_w[c] per element (one
// weight scale per element, or one for all). It returns the values, their
// scales and how many values had to be clamped.
func QuantizeBias(b []float32, inScale float32, wScales []float32) (q []int32, scales []float32, clamped int) {
	q = make([]int32, len(b))
	scales = make([]float32, len(b))
	for i, v := range b {
		ws := wScales[0]
		if len(wScales) > 1 {
			ws = wScales[i]
		}
		s := inScale * ws
		scales[i] = s
		r := math.Round(float64(v) / float64(s))
		if r > math.MaxInt32 || r < -math.MaxInt32 {
			clamped++
			r = math.Max(-math.MaxInt32, math.Min(math.MaxInt32, r))
		}
		q[i] = int32(r)
	}
	return q, scales, clamped
}

func sortedKeys[M ~map[K]V, K interface{ ~int | ~string }, V any](m M) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// setIntInput writes whole-number calibration values into an INT32 input.
func setIntInput(in *infer.Tensor, vals []float32) error {
	dst := in.Int32s()
	if len(dst) != len(vals) {
		return fmt.Errorf("%w: %d values, the INT32 tensor holds %d", ErrBadCalibration, len(vals), len(dst))
	}
	for j, v := range vals {
		if v != float32(math.Trunc(float64(v))) || math.Abs(float64(v)) > 1<<31-1 {
			return fmt.Errorf("%w: value %v for an INT32 input is not a whole number", ErrBadCalibration, v)
		}
		dst[j] = int32(v)
	}
	return nil
}
