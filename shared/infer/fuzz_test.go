package infer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/megapipe/mega/shared/infer/kernels"
	"github.com/megapipe/mega/shared/tflite"
)

// byteSource hands out fuzz bytes (zeros when exhausted).
type byteSource struct {
	b []byte
	i int
}

func (s *byteSource) u8() byte {
	if s.i >= len(s.b) {
		return 0
	}
	s.i++
	return s.b[s.i-1]
}

func (s *byteSource) intn(n int) int { return int(s.u8()) % n }

func (s *byteSource) scale() float32 { return float32(int(s.u8())+1) / 256 }

func (s *byteSource) quant() *tflite.Quantization {
	return &tflite.Quantization{Scale: []float32{s.scale()}, ZeroPoint: []int64{int64(int8(s.u8()))}}
}

// genModel builds a small one-operator model from fuzz bytes.
func genModel(s *byteSource) (*tflite.Model, error) {
	b := tflite.NewBuilder("fuzz")
	isInt8 := s.u8()%2 == 0
	typ := tflite.Float32
	if isInt8 {
		typ = tflite.Int8
	}
	q := func() *tflite.Quantization {
		if isInt8 {
			return s.quant()
		}
		return nil
	}
	act := tflite.Activation(s.intn(5))
	n, h, w, c := 1+s.intn(2), 1+s.intn(6), 1+s.intn(6), 1+s.intn(9)
	x := b.AddActivation("x", typ, []int{n, h, w, c}, q())
	inputs := []int{x}
	constW := func(shape []int, perChan int) int {
		cnt := 1
		for _, d := range shape {
			cnt *= d
		}
		if !isInt8 {
			v := make([]float32, cnt)
			for i := range v {
				v[i] = float32(int8(s.u8())) / 64
			}
			return b.AddConstFloat32("w", shape, v)
		}
		v := make([]int8, cnt)
		for i := range v {
			v[i] = int8(s.u8())
		}
		wq := &tflite.Quantization{Scale: []float32{s.scale()}, ZeroPoint: []int64{0}}
		if perChan > 1 && s.u8()%2 == 0 {
			wq.Scale, wq.ZeroPoint = nil, nil
			for range perChan {
				wq.Scale = append(wq.Scale, s.scale())
				wq.ZeroPoint = append(wq.ZeroPoint, 0)
			}
			if len(shape) == 4 && shape[0] == 1 {
				wq.QuantizedDimension = 3
			}
		}
		return b.AddConstInt8("w", shape, v, wq)
	}
	constBias := func(oc int) int {
		if s.u8()%3 == 0 {
			return -1
		}
		if !isInt8 {
			v := make([]float32, oc)
			for i := range v {
				v[i] = float32(int8(s.u8())) / 16
			}
			return b.AddConstFloat32("b", []int{oc}, v)
		}
		v := make([]int32, oc)
		for i := range v {
			v[i] = int32(int8(s.u8())) * 97
		}
		return b.AddConstInt32("b", []int{oc}, v, nil)
	}
	var op tflite.BuiltinOperator
	var opts tflite.Options
	yshape := []int{n, h, w, c}
	switch s.intn(12) {
	case 0: // CONV_2D
		oc, kh, kw := 1+s.intn(9), 1+s.intn(4), 1+s.intn(4)
		op = tflite.OpConv2D
		opts = &tflite.Conv2DOptions{Padding: tflite.Padding(s.intn(2)), StrideW: 1 + s.intn(3), StrideH: 1 + s.intn(3),
			DilationW: 1 + s.intn(2), DilationH: 1 + s.intn(2), Activation: act}
		inputs = append(inputs, constW([]int{oc, kh, kw, c}, oc), constBias(oc))
	case 1: // DEPTHWISE_CONV_2D
		m, kh, kw := 1+s.intn(3), 1+s.intn(4), 1+s.intn(4)
		op = tflite.OpDepthwiseConv2D
		opts = &tflite.DepthwiseConv2DOptions{Padding: tflite.Padding(s.intn(2)), StrideW: 1 + s.intn(3), StrideH: 1 + s.intn(3),
			DilationW: 1 + s.intn(2), DilationH: 1 + s.intn(2), DepthMultiplier: m, Activation: act}
		inputs = append(inputs, constW([]int{1, kh, kw, c * m}, c*m), constBias(c*m))
	case 2: // FULLY_CONNECTED over the flattened input
		units := 1 + s.intn(12)
		op = tflite.OpFullyConnected
		opts = &tflite.FullyConnectedOptions{Activation: act}
		inputs = append(inputs, constW([]int{units, h * w * c}, units), constBias(units))
	case 3:
		op = tflite.OpAveragePool2D
		opts = &tflite.Pool2DOptions{Padding: tflite.Padding(s.intn(2)), StrideW: 1 + s.intn(3), StrideH: 1 + s.intn(3),
			FilterWidth: 1 + s.intn(4), FilterHeight: 1 + s.intn(4), Activation: act}
	case 4:
		op = tflite.OpMaxPool2D
		opts = &tflite.Pool2DOptions{Padding: tflite.Padding(s.intn(2)), StrideW: 1 + s.intn(3), StrideH: 1 + s.intn(3),
			FilterWidth: 1 + s.intn(4), FilterHeight: 1 + s.intn(4), Activation: act}
	case 5, 6: // ADD/SUB/MUL with a broadcast second operand
		op = []tflite.BuiltinOperator{tflite.OpAdd, tflite.OpSub, tflite.OpMul}[s.intn(3)]
		shapes := [][]int{{n, h, w, c}, {c}, {1, 1, 1, c}, {n, 1, w, 1}, {}}
		y := b.AddActivation("x2", typ, shapes[s.intn(len(shapes))], q())
		inputs = append(inputs, y)
		opts = &tflite.AddOptions{Activation: act}
		if op == tflite.OpSub {
			opts = &tflite.SubOptions{Activation: act}
		} else if op == tflite.OpMul {
			opts = &tflite.MulOptions{Activation: act}
		}
	case 7:
		op = tflite.OpSoftmax
		opts = &tflite.SoftmaxOptions{Beta: 1}
	case 8:
		op = []tflite.BuiltinOperator{tflite.OpLogistic, tflite.OpTanh, tflite.OpRelu, tflite.OpRelu6}[s.intn(4)]
	case 9:
		op = tflite.OpConcatenation
		inputs = append(inputs, b.AddActivation("x2", typ, []int{n, h, w, c}, q()))
		opts = &tflite.ConcatenationOptions{Axis: s.intn(8) - 4, Activation: act}
	case 10:
		op = tflite.OpMean
		inputs = append(inputs, b.AddConstInt32("axes", []int{2}, []int32{1, 2}, nil))
		opts = &tflite.ReducerOptions{KeepDims: s.u8()%2 == 0}
	case 11:
		op = tflite.OpPad
		p := make([]int32, 8)
		for i := range p {
			p[i] = int32(s.intn(3))
		}
		inputs = append(inputs, b.AddConstInt32("paddings", []int{4, 2}, p, nil))
	}
	y := b.AddActivation("y", typ, yshape, q())
	b.AddOperator(op, 1, inputs, []int{y}, opts)
	var ins []int
	for _, i := range inputs {
		if i >= 0 && b != nil && (i == x || i == x+1 && (op == tflite.OpConcatenation || op == tflite.OpAdd || op == tflite.OpSub || op == tflite.OpMul)) {
			ins = append(ins, i)
		}
	}
	b.SetInputs(ins...)
	b.SetOutputs(y)
	return b.Model()
}

// FuzzInterpreter builds small one-operator models from the fuzz input, runs
// them, and checks int8 convolutions and fully connected layers against the
// reference loops of package kernels. Invalid models must fail with an error,
// never a panic.
func FuzzInterpreter(f *testing.F) {
	for i := range 12 {
		f.Add([]byte{0, byte(i), 3, 2, 4, 5, byte(i), 7, 1, 2, 3, 9, 200, 17, 33, 90, 1, 2, 3, 4, 5, 6})
		f.Add([]byte{1, byte(i), 3, 2, 4, 5, byte(i), 7, 1, 2, 3, 9, 200, 17, 33, 90, 1, 2, 3, 4, 5, 6})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &byteSource{b: data}
		m, err := genModel(s)
		if err != nil {
			return // the builder rejected it: fine
		}
		for _, mode := range []Requant{XNNPack, Reference} {
			ip, err := New(m, Options{Requant: mode})
			if err != nil {
				if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
					t.Fatalf("New: untyped error %v", err)
				}
				return
			}
			for i := 0; i < ip.NumInputs(); i++ {
				in := ip.Input(i).Bytes()
				for j := range in {
					in[j] = s.u8()
				}
				if ip.Input(i).Type == tflite.Float32 {
					// keep floats finite and small
					for j, v := range ip.Input(i).Float32s() {
						if v != v || v > 1e6 || v < -1e6 {
							ip.Input(i).Float32s()[j] = float32(j%7) - 3
						}
					}
				}
			}
			if err := ip.Invoke(); err != nil {
				t.Fatal(err)
			}
			checkAgainstReference(t, ip)
		}
	})
}

// checkAgainstReference recomputes an int8 CONV_2D, DEPTHWISE_CONV_2D or
// FULLY_CONNECTED with the plain reference loops and compares.
func checkAgainstReference(t *testing.T, ip *Interpreter) {
	t.Helper()
	n := ip.nodes[0]
	x, w, b, y := ip.in(n, 0), ip.in(n, 1), ip.in(n, 2), ip.out(n, 0)
	var bias []int32
	if b != nil {
		bias = b.Int32s()
	}
	want := make([]int8, len(y.Int8s()))
	if len(want) == 0 {
		return
	}
	switch k := n.k.(type) {
	case *convKernel:
		if k.float {
			return
		}
		if k.depthwise {
			kernels.DepthwiseConv2DInt8(k.s, x.Int8s(), x.ZeroPoint(), w.Int8s(), bias, k.rq, want)
		} else {
			kernels.Conv2DInt8(k.s, x.Int8s(), x.ZeroPoint(), w.Int8s(), bias, k.rq, want)
		}
	case *fcKernel:
		if k.float {
			return
		}
		kernels.FullyConnectedInt8(k.batch, k.inDim, k.outN, x.Int8s(), x.ZeroPoint(), w.Int8s(), k.wZP, bias, k.rq, want)
	default:
		return
	}
	if diff := cmp.Diff(want, y.Int8s()); diff != "" {
		t.Fatalf("%v (%v) fast kernel differs from the reference loops (-want +got):\n%s", n.op, ip.opts.Requant, diff)
	}
}

// FuzzParseAndRun feeds arbitrary bytes (seeded with the conformance models)
// through tflite.Parse and New and Invoke: hostile files must give errors.
func FuzzParseAndRun(f *testing.F) {
	if dir := testdataPath(); dir != "" {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if (strings.HasSuffix(e.Name(), ".tflite") || strings.HasSuffix(e.Name(), ".bin")) && !strings.HasPrefix(e.Name(), "person") && !strings.Contains(e.Name(), "image") && e.Name() != "pc_conv.bin" {
				if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
					f.Add(b)
				}
			}
		}
	}
	// The Keras zoo's small converter models seed the converter ops.
	if ents, err := os.ReadDir(filepath.Join("testdata", "zoo")); err == nil {
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".tflite") && !strings.HasPrefix(e.Name(), "mobilenet") {
				if b, err := os.ReadFile(filepath.Join("testdata", "zoo", e.Name())); err == nil && len(b) < 64<<10 {
					f.Add(b)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := tflite.Parse(data)
		if err != nil {
			return
		}
		ip, err := New(m, Options{MaxArenaBytes: 64 << 20})
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("New: untyped error %v", err)
			}
			return
		}
		_ = ip.Invoke()
	})
}
