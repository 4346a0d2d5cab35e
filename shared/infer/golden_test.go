package infer

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/megapipe/mega/shared/tflite"
)

// The op suite in testdata/golden holds small models built here (one or two
// operators each, covering what the conformance models do not: LOGISTIC,
// TANH, MUL, SUB, broadcasting, CONCATENATION, MEAN, PAD,
// MAX_POOL_2D, RELU/RELU6 requantization, QUANTIZE int8->int8, float CONV_2D
// and DEPTHWISE_CONV_2D, ...) with outputs computed by the official runtime:
//
//	go test ./shared/infer -run TestGoldenOps -golden-gen   # writes models and inputs
//	shared/infer/testdata/golden/make_golden.sh             # runs the oracle on each
//
// TestGoldenOps then compares: int8 exactly, float within 1e-5 relative.
var goldenGen = flag.Bool("golden-gen", false, "write the op-suite models and inputs to testdata/golden")

type goldenCase struct {
	Name   string   `json:"name"`
	Inputs []string `json:"inputs"` // input files, in input order
}

// patternInput fills input k deterministically (MANIFEST.md's patterns).
func patternInput(t *Tensor, k int) []byte {
	n := t.NumElements()
	switch t.Type {
	case tflite.Int8:
		b := make([]byte, n)
		for i := range b {
			b[i] = byte((i*73 + 41*k + 19) % 256)
		}
		return b
	default:
		b := make([]byte, 4*n)
		for i := 0; i < n; i++ {
			v := float32((i*37+11*k)%101)/10 - 5
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b
	}
}

func q8(scale float32, zp int64) *tflite.Quantization {
	return &tflite.Quantization{Scale: []float32{scale}, ZeroPoint: []int64{zp}}
}

// goldenModels builds the op suite.
func goldenModels(t *testing.T) map[string]*tflite.Model {
	t.Helper()
	out := map[string]*tflite.Model{}
	add := func(name string, f func(b *tflite.Builder)) {
		b := tflite.NewBuilder(name)
		f(b)
		m, err := b.Model()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = m
	}
	shape := []int{1, 5, 6, 8}
	unary := func(name string, op tflite.BuiltinOperator, ver int, typ tflite.TensorType, qin, qout *tflite.Quantization) {
		add(name, func(b *tflite.Builder) {
			x := b.AddActivation("x", typ, shape, qin)
			y := b.AddActivation("y", typ, shape, qout)
			b.AddOperator(op, ver, []int{x}, []int{y}, nil)
			b.SetInputs(x)
			b.SetOutputs(y)
		})
	}
	unary("logistic_int8", tflite.OpLogistic, 2, tflite.Int8, q8(0.05, 3), q8(1.0/256, -128))
	unary("tanh_int8", tflite.OpTanh, 2, tflite.Int8, q8(0.03, -7), q8(1.0/128, 0))
	unary("relu_int8", tflite.OpRelu, 2, tflite.Int8, q8(0.04, -5), q8(0.03, -128))
	unary("relu6_int8", tflite.OpRelu6, 2, tflite.Int8, q8(0.06, 10), q8(0.025, -128))
	unary("logistic_f32", tflite.OpLogistic, 1, tflite.Float32, nil, nil)
	unary("tanh_f32", tflite.OpTanh, 1, tflite.Float32, nil, nil)
	unary("requantize_int8", tflite.OpQuantize, 2, tflite.Int8, q8(0.05, 3), q8(0.08, -20))

	binary := func(name string, op tflite.BuiltinOperator, ver int, typ tflite.TensorType, bshape []int, qa, qb, qy *tflite.Quantization, opts tflite.Options) {
		add(name, func(b *tflite.Builder) {
			x := b.AddActivation("a", typ, shape, qa)
			z := b.AddActivation("b", typ, bshape, qb)
			y := b.AddActivation("y", typ, shape, qy)
			b.AddOperator(op, ver, []int{x, z}, []int{y}, opts)
			b.SetInputs(x, z)
			b.SetOutputs(y)
		})
	}
	binary("add_int8_bcast_relu6", tflite.OpAdd, 2, tflite.Int8, []int{1, 1, 1, 8}, q8(0.05, 3), q8(0.02, -10), q8(0.04, -128),
		&tflite.AddOptions{Activation: tflite.ActRelu6})
	binary("sub_int8", tflite.OpSub, 2, tflite.Int8, shape, q8(0.05, 3), q8(0.03, -10), q8(0.06, 2), &tflite.SubOptions{})
	binary("mul_int8_bcast", tflite.OpMul, 2, tflite.Int8, []int{8}, q8(0.05, 3), q8(0.02, -10), q8(0.1, 5), &tflite.MulOptions{})
	binary("mul_f32_bcast", tflite.OpMul, 1, tflite.Float32, []int{1, 5, 1, 8}, nil, nil, nil, &tflite.MulOptions{})
	binary("sub_f32_bcast_relu", tflite.OpSub, 1, tflite.Float32, []int{1, 1, 6, 1}, nil, nil, nil, &tflite.SubOptions{Activation: tflite.ActRelu})

	add("concat_int8", func(b *tflite.Builder) {
		x := b.AddActivation("a", tflite.Int8, shape, q8(0.05, 3))
		z := b.AddActivation("b", tflite.Int8, []int{1, 5, 6, 3}, q8(0.05, 3))
		y := b.AddActivation("y", tflite.Int8, []int{1, 5, 6, 11}, q8(0.05, 3))
		b.AddOperator(tflite.OpConcatenation, 2, []int{x, z}, []int{y}, &tflite.ConcatenationOptions{Axis: 3})
		b.SetInputs(x, z)
		b.SetOutputs(y)
	})
	add("concat_f32_axis1", func(b *tflite.Builder) {
		x := b.AddActivation("a", tflite.Float32, shape, nil)
		z := b.AddActivation("b", tflite.Float32, []int{1, 2, 6, 8}, nil)
		y := b.AddActivation("y", tflite.Float32, []int{1, 7, 6, 8}, nil)
		b.AddOperator(tflite.OpConcatenation, 1, []int{x, z}, []int{y}, &tflite.ConcatenationOptions{Axis: 1})
		b.SetInputs(x, z)
		b.SetOutputs(y)
	})
	mean := func(name string, typ tflite.TensorType, qin, qout *tflite.Quantization) {
		add(name, func(b *tflite.Builder) {
			x := b.AddActivation("x", typ, shape, qin)
			axes := b.AddConstInt32("axes", []int{2}, []int32{1, 2}, nil)
			y := b.AddActivation("y", typ, []int{1, 1, 1, 8}, qout)
			b.AddOperator(tflite.OpMean, 2, []int{x, axes}, []int{y}, &tflite.ReducerOptions{KeepDims: true})
			b.SetInputs(x)
			b.SetOutputs(y)
		})
	}
	mean("mean_int8", tflite.Int8, q8(0.05, 3), q8(0.05, 3))
	mean("mean_f32", tflite.Float32, nil, nil)
	pad := func(name string, typ tflite.TensorType, q *tflite.Quantization) {
		add(name, func(b *tflite.Builder) {
			x := b.AddActivation("x", typ, shape, q)
			p := b.AddConstInt32("paddings", []int{4, 2}, []int32{0, 0, 1, 2, 2, 1, 0, 0}, nil)
			y := b.AddActivation("y", typ, []int{1, 8, 9, 8}, q)
			b.AddOperator(tflite.OpPad, 2, []int{x, p}, []int{y}, nil)
			b.SetInputs(x)
			b.SetOutputs(y)
		})
	}
	pad("pad_int8", tflite.Int8, q8(0.05, 3))
	pad("pad_f32", tflite.Float32, nil)
	pool := func(name string, op tflite.BuiltinOperator, typ tflite.TensorType, q *tflite.Quantization, pad tflite.Padding, outShape []int) {
		add(name, func(b *tflite.Builder) {
			x := b.AddActivation("x", typ, shape, q)
			y := b.AddActivation("y", typ, outShape, q)
			b.AddOperator(op, 2, []int{x}, []int{y}, &tflite.Pool2DOptions{Padding: pad, StrideW: 2, StrideH: 2, FilterWidth: 3, FilterHeight: 3})
			b.SetInputs(x)
			b.SetOutputs(y)
		})
	}
	pool("maxpool_int8_same", tflite.OpMaxPool2D, tflite.Int8, q8(0.05, 3), tflite.PaddingSame, []int{1, 3, 3, 8})
	pool("avgpool_int8_same", tflite.OpAveragePool2D, tflite.Int8, q8(0.05, 3), tflite.PaddingSame, []int{1, 3, 3, 8})
	pool("maxpool_f32_valid", tflite.OpMaxPool2D, tflite.Float32, nil, tflite.PaddingValid, []int{1, 2, 2, 8})
	pool("avgpool_f32_same", tflite.OpAveragePool2D, tflite.Float32, nil, tflite.PaddingSame, []int{1, 3, 3, 8})
	add("softmax_int8_beta", func(b *tflite.Builder) {
		x := b.AddActivation("x", tflite.Int8, []int{3, 10}, q8(0.1, -3))
		y := b.AddActivation("y", tflite.Int8, []int{3, 10}, q8(1.0/256, -128))
		b.AddOperator(tflite.OpSoftmax, 2, []int{x}, []int{y}, &tflite.SoftmaxOptions{Beta: 0.7})
		b.SetInputs(x)
		b.SetOutputs(y)
	})
	add("softmax_f32", func(b *tflite.Builder) {
		x := b.AddActivation("x", tflite.Float32, []int{3, 10}, nil)
		y := b.AddActivation("y", tflite.Float32, []int{3, 10}, nil)
		b.AddOperator(tflite.OpSoftmax, 1, []int{x}, []int{y}, &tflite.SoftmaxOptions{Beta: 1})
		b.SetInputs(x)
		b.SetOutputs(y)
	})
	weights := func(n int, seed int) []int8 {
		w := make([]int8, n)
		for i := range w {
			w[i] = int8((i*seed+17)%255 - 127)
		}
		return w
	}
	wf := func(n int, seed int) []float32 {
		w := make([]float32, n)
		for i := range w {
			w[i] = float32((i*seed+17)%41-20) / 20
		}
		return w
	}
	add("conv_int8_s2_dil_relu6", func(b *tflite.Builder) {
		x := b.AddActivation("x", tflite.Int8, []int{1, 9, 10, 3}, q8(0.05, 3))
		sc := []float32{0.002, 0.003, 0.0015, 0.004, 0.0025}
		w := b.AddConstInt8("w", []int{5, 3, 3, 3}, weights(135, 31), &tflite.Quantization{Scale: sc, ZeroPoint: make([]int64, 5)})
		bias := make([]int32, 5)
		for i := range bias {
			bias[i] = int32(i*173 - 300)
		}
		bi := b.AddConstInt32("b", []int{5}, bias, &tflite.Quantization{Scale: []float32{0.0001, 0.00015, 0.000075, 0.0002, 0.000125}, ZeroPoint: make([]int64, 5)})
		y := b.AddActivation("y", tflite.Int8, []int{1, 5, 5, 5}, q8(0.02, -128))
		b.AddOperator(tflite.OpConv2D, 3, []int{x, w, bi}, []int{y}, &tflite.Conv2DOptions{Padding: tflite.PaddingSame,
			StrideW: 2, StrideH: 2, DilationW: 1, DilationH: 1, Activation: tflite.ActRelu6})
		b.SetInputs(x)
		b.SetOutputs(y)
	})
	add("fc_int8_batch3", func(b *tflite.Builder) {
		x := b.AddActivation("x", tflite.Int8, []int{3, 20}, q8(0.05, 3))
		w := b.AddConstInt8("w", []int{7, 20}, weights(140, 29), q8(0.003, 0))
		bias := make([]int32, 7)
		for i := range bias {
			bias[i] = int32(i*311 - 900)
		}
		bi := b.AddConstInt32("b", []int{7}, bias, q8(0.00015, 0))
		y := b.AddActivation("y", tflite.Int8, []int{3, 7}, q8(0.03, -4))
		b.AddOperator(tflite.OpFullyConnected, 4, []int{x, w, bi}, []int{y}, &tflite.FullyConnectedOptions{Activation: tflite.ActRelu})
		b.SetInputs(x)
		b.SetOutputs(y)
	})
	add("conv_f32_same_s2", func(b *tflite.Builder) {
		x := b.AddActivation("x", tflite.Float32, []int{1, 9, 10, 3}, nil)
		w := b.AddConstFloat32("w", []int{4, 3, 3, 3}, wf(108, 13))
		bi := b.AddConstFloat32("b", []int{4}, []float32{0.1, -0.2, 0.3, 0})
		y := b.AddActivation("y", tflite.Float32, []int{1, 5, 5, 4}, nil)
		b.AddOperator(tflite.OpConv2D, 1, []int{x, w, bi}, []int{y}, &tflite.Conv2DOptions{Padding: tflite.PaddingSame,
			StrideW: 2, StrideH: 2, DilationW: 1, DilationH: 1, Activation: tflite.ActRelu})
		b.SetInputs(x)
		b.SetOutputs(y)
	})
	add("dwconv_f32_m2", func(b *tflite.Builder) {
		x := b.AddActivation("x", tflite.Float32, []int{1, 7, 6, 3}, nil)
		w := b.AddConstFloat32("w", []int{1, 3, 3, 6}, wf(54, 7))
		bi := b.AddConstFloat32("b", []int{6}, []float32{0.1, -0.2, 0.3, 0, 0.5, -1})
		y := b.AddActivation("y", tflite.Float32, []int{1, 7, 6, 6}, nil)
		b.AddOperator(tflite.OpDepthwiseConv2D, 1, []int{x, w, bi}, []int{y}, &tflite.DepthwiseConv2DOptions{Padding: tflite.PaddingSame,
			StrideW: 1, StrideH: 1, DepthMultiplier: 2, DilationW: 1, DilationH: 1})
		b.SetInputs(x)
		b.SetOutputs(y)
	})
	add("quant_dequant_f32", func(b *tflite.Builder) {
		x := b.AddActivation("x", tflite.Float32, shape, nil)
		q := b.AddActivation("q", tflite.Int8, shape, q8(0.037, -3))
		y := b.AddActivation("y", tflite.Float32, shape, nil)
		b.AddOperator(tflite.OpQuantize, 1, []int{x}, []int{q}, nil)
		b.AddOperator(tflite.OpDequantize, 2, []int{q}, []int{y}, nil)
		b.SetInputs(x)
		b.SetOutputs(y)
	})
	return out
}

func TestGoldenOps(t *testing.T) {
	models := goldenModels(t)
	dir := filepath.Join("testdata", "golden")
	if *goldenGen {
		var cases []goldenCase
		for name, m := range models {
			b, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".tflite"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			ip, err := New(m, Options{})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			c := goldenCase{Name: name}
			for k := 0; k < ip.NumInputs(); k++ {
				f := name + ".in" + string(rune('0'+k)) + ".bin"
				if err := os.WriteFile(filepath.Join(dir, f), patternInput(ip.Input(k), k), 0o644); err != nil {
					t.Fatal(err)
				}
				c.Inputs = append(c.Inputs, f)
			}
			cases = append(cases, c)
		}
		b, _ := json.MarshalIndent(cases, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, "cases.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Skipf("no op suite: %v", err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, c.Name+".tflite"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := tflite.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			ip, err := New(m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for k, f := range c.Inputs {
				in, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if err := ip.SetInput(k, in); err != nil {
					t.Fatal(err)
				}
			}
			if err := ip.Invoke(); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, c.Name+".out0.bin"))
			if err != nil {
				t.Fatalf("no official output (run make_golden.sh): %v", err)
			}
			got := ip.Output(0)
			if got.Type == tflite.Float32 {
				checkFloat(t, got.Float32s(), want, 1e-5)
				return
			}
			if string(got.Bytes()) != string(want) {
				bad := 0
				for i := range want {
					if i < len(got.Bytes()) && got.Bytes()[i] != want[i] {
						if bad < 5 {
							t.Errorf("[%d] = %d, official %d", i, int8(got.Bytes()[i]), int8(want[i]))
						}
						bad++
					}
				}
				t.Errorf("%d of %d int8 outputs differ from the official runtime", bad, len(want))
			}
		})
	}
}
