package infer

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/megapipe/mega/shared/tflite"
)

// InputSpec is one `--in IDX=FILE` argument: raw little-endian data for
// graph input IDX.
type InputSpec struct {
	Index int
	Path  string
}

// ParseInputSpec reads "IDX=FILE".
func ParseInputSpec(s string) (InputSpec, error) {
	idx, path, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return InputSpec{}, fmt.Errorf("infer: input %q: want IDX=FILE", s)
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 {
		return InputSpec{}, fmt.Errorf("infer: input %q: bad index %q", s, idx)
	}
	return InputSpec{Index: i, Path: path}, nil
}

// SetInput copies raw little-endian bytes into graph input i. When b holds
// a whole number k > 1 of the input's items along axis 0, the input is
// resized to batch k first.
func (ip *Interpreter) SetInput(i int, b []byte) error {
	t := ip.Input(i)
	if t == nil {
		return fmt.Errorf("infer: set input %d: %w: the model has %d inputs", i, ErrInvalid, ip.NumInputs())
	}
	if len(b) != len(t.data) && len(t.Shape) > 0 && t.Shape[0] > 0 {
		item := len(t.data) / t.Shape[0]
		if item > 0 && len(b)%item == 0 && len(b) > 0 {
			shape := slices.Clone(t.Shape)
			shape[0] = len(b) / item
			if err := ip.ResizeInput(i, shape); err != nil {
				return fmt.Errorf("infer: set input %d: %w", i, err)
			}
			t = ip.Input(i)
		}
	}
	if len(b) != len(t.data) {
		return fmt.Errorf("infer: set input %d: %w: %d bytes for %v %v (%d bytes)", i, ErrInvalid, len(b), t.Type, t.Shape, len(t.data))
	}
	copy(t.data, b)
	return nil
}

// LoadInputs reads every spec's file into its input.
func (ip *Interpreter) LoadInputs(specs []InputSpec) error {
	for _, s := range specs {
		b, err := os.ReadFile(s.Path)
		if err != nil {
			return fmt.Errorf("infer: read input: %w", err)
		}
		if err := ip.SetInput(s.Index, b); err != nil {
			return err
		}
	}
	return nil
}

// OutputValue is one output tensor as `mega tflite run` prints it.
type OutputValue struct {
	Name   string `json:"name"`
	DType  string `json:"dtype"`
	Shape  []int  `json:"shape"`
	Values []any  `json:"values"`
}

// RunResult is the JSON document of `mega tflite run`.
type RunResult struct {
	Outputs []OutputValue `json:"outputs"`
}

// Values converts a tensor's elements to JSON numbers (int8/int32 as
// integers, float32 as the nearest float64, which round-trips exactly).
func (t *Tensor) Values() []any {
	var out []any
	switch t.Type {
	case tflite.Int8:
		for _, v := range t.Int8s() {
			out = append(out, int(v))
		}
	case tflite.Int32:
		for _, v := range t.Int32s() {
			out = append(out, int(v))
		}
	case tflite.Float32:
		for _, v := range t.Float32s() {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				out = append(out, strconv.FormatFloat(f, 'g', -1, 32))
			} else {
				out = append(out, f)
			}
		}
	default:
		for _, v := range t.data {
			out = append(out, int(v))
		}
	}
	return out
}

// Result returns every output tensor's name, dtype, shape and values.
func (ip *Interpreter) Result() RunResult {
	var r RunResult
	for i := 0; i < ip.NumOutputs(); i++ {
		t := ip.Output(i)
		r.Outputs = append(r.Outputs, OutputValue{Name: t.Name, DType: strings.ToLower(t.Type.String()),
			Shape: slices.Clone(t.Shape), Values: t.Values()})
	}
	return r
}

// WriteOutputs writes each output as raw little-endian bytes to
// dir/output_<i>.bin, like the oracle's --out-dir.
func (ip *Interpreter) WriteOutputs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("infer: write outputs: %w", err)
	}
	for i := 0; i < ip.NumOutputs(); i++ {
		p := filepath.Join(dir, fmt.Sprintf("output_%d.bin", i))
		if err := os.WriteFile(p, ip.Output(i).Bytes(), 0o644); err != nil {
			return fmt.Errorf("infer: write outputs: %w", err)
		}
	}
	return nil
}

// BenchResult are the figures of `mega tflite bench`.
type BenchResult struct {
	N               int     `json:"n"`
	MedianMs        float64 `json:"median_ms"`
	P90Ms           float64 `json:"p90_ms"`
	MinMs           float64 `json:"min_ms"`
	AllocsPerInvoke float64 `json:"allocs_per_invoke"`
	MACs            int64   `json:"macs"`
	GMACPerSec      float64 `json:"gmac_per_s"`
	ArenaBytes      int     `json:"arena_bytes"`
	Requant         string  `json:"requant"`
	VectorKernels   bool    `json:"vector_kernels"`
	KernelPath      string  `json:"kernel_path"`
}

// ErrBench is returned when benchmarking is asked for zero runs.
var ErrBench = errors.New("infer: bench: need at least one run")

// Bench runs the interpreter n times after a warm-up and reports latency
// percentiles, allocations per Invoke and MAC throughput (at the median).
func (ip *Interpreter) Bench(n int) (BenchResult, error) {
	if n < 1 {
		return BenchResult{}, ErrBench
	}
	for range 3 {
		if err := ip.Invoke(); err != nil {
			return BenchResult{}, err
		}
	}
	times := make([]float64, n) // before the first reading: not an Invoke allocation
	var ms1, ms2 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	for i := range times {
		t0 := time.Now()
		if err := ip.Invoke(); err != nil {
			return BenchResult{}, err
		}
		times[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
	}
	runtime.ReadMemStats(&ms2)
	slices.Sort(times)
	r := BenchResult{N: n, MedianMs: times[n/2], P90Ms: times[min(n-1, n*9/10)], MinMs: times[0],
		AllocsPerInvoke: float64(ms2.Mallocs-ms1.Mallocs) / float64(n), MACs: ip.MACs(),
		ArenaBytes: ip.ArenaBytes(), Requant: ip.opts.Requant.String(), VectorKernels: VectorKernels(),
		KernelPath: string(CurrentKernelPath())}
	if r.MedianMs > 0 {
		r.GMACPerSec = float64(r.MACs) / (r.MedianMs / 1e3) / 1e9
	}
	return r, nil
}

// VectorKernels reports whether the SIMD kernels are in use (built with
// GOEXPERIMENT=simd on an AVX2 CPU).
func VectorKernels() bool { return simdKernels }
