package infer

import (
	"math"
	"slices"

	"github.com/megapipe/mega/shared/infer/kernels"
	"github.com/megapipe/mega/shared/tflite"
)

// moreVersion lists the operators added for converter output (Keras layers
// through tf.lite.TFLiteConverter), with their highest supported version.
var moreVersion = map[tflite.BuiltinOperator]int{
	tflite.OpShape:                 1,
	tflite.OpStridedSlice:          8,
	tflite.OpSlice:                 6,
	tflite.OpPack:                  4,
	tflite.OpTranspose:             6,
	tflite.OpGather:                7,
	tflite.OpExpandDims:            1,
	tflite.OpSplit:                 4,
	tflite.OpCast:                  6,
	tflite.OpArgMax:                3,
	tflite.OpLeakyRelu:             2,
	tflite.OpElu:                   1,
	tflite.OpHardSwish:             1,
	tflite.OpGelu:                  2,
	tflite.OpRsqrt:                 3,
	tflite.OpSqrt:                  1,
	tflite.OpExp:                   2,
	tflite.OpAbs:                   5,
	tflite.OpNeg:                   2,
	tflite.OpSquare:                1,
	tflite.OpMaximum:               4,
	tflite.OpMinimum:               4,
	tflite.OpSquaredDifference:     2,
	tflite.OpDiv:                   2,
	tflite.OpReduceMax:             3,
	tflite.OpSum:                   2,
	tflite.OpReduceProd:            2,
	tflite.OpLess:                  3,
	tflite.OpLessEqual:             3,
	tflite.OpGreater:               3,
	tflite.OpGreaterEqual:          3,
	tflite.OpEqual:                 4,
	tflite.OpNotEqual:              3,
	tflite.OpSelect:                4,
	tflite.OpSelectV2:              2,
	tflite.OpTile:                  3,
	tflite.OpPadV2:                 4,
	tflite.OpResizeBilinear:        4,
	tflite.OpResizeNearestNeighbor: 4,
	tflite.OpTransposeConv:         5,
	tflite.OpBatchMatMul:           4,
}

// newMoreKernel returns the kernel of an operator of moreVersion, and the
// hybrid-capable wrappers of FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D;
// ok is false for every other operator.
func newMoreKernel(code tflite.OperatorCode) (k kernel, ok bool, err error) {
	switch code.Builtin {
	case tflite.OpAdd, tflite.OpSub, tflite.OpMul:
		if code.Version > maxVersion[code.Builtin] {
			return nil, true, errf(ErrUnsupported, "operator version: %v version %d (supported up to %d)", code.Builtin, code.Version, maxVersion[code.Builtin])
		}
		return &arithKernel{}, true, nil
	case tflite.OpConcatenation:
		if code.Version > maxVersion[code.Builtin] {
			return nil, true, errf(ErrUnsupported, "operator version: %v version %d (supported up to %d)", code.Builtin, code.Version, maxVersion[code.Builtin])
		}
		return &concatAnyKernel{}, true, nil
	case tflite.OpFullyConnected, tflite.OpConv2D, tflite.OpDepthwiseConv2D, tflite.OpDequantize:
		if code.Version > maxVersion[code.Builtin] {
			return nil, true, errf(ErrUnsupported, "operator version: %v version %d (supported up to %d)", code.Builtin, code.Version, maxVersion[code.Builtin])
		}
		switch code.Builtin {
		case tflite.OpFullyConnected:
			return &hybridKernel{base: &fcKernel{}}, true, nil
		case tflite.OpConv2D:
			return &hybridKernel{base: &convKernel{}}, true, nil
		case tflite.OpDepthwiseConv2D:
			return &hybridKernel{base: &convKernel{depthwise: true}}, true, nil
		default:
			return &dequantizeAnyKernel{}, true, nil
		}
	}
	mv, known := moreVersion[code.Builtin]
	if !known {
		return nil, false, nil
	}
	if code.Version > mv {
		return nil, true, errf(ErrUnsupported, "operator version: %v version %d (supported up to %d)", code.Builtin, code.Version, mv)
	}
	switch code.Builtin {
	case tflite.OpShape:
		return &shapeKernel{}, true, nil
	case tflite.OpStridedSlice, tflite.OpSlice:
		return &sliceKernel{}, true, nil
	case tflite.OpPack:
		return &packKernel{}, true, nil
	case tflite.OpTranspose:
		return &transposeKernel{}, true, nil
	case tflite.OpGather:
		return &gatherKernel{}, true, nil
	case tflite.OpExpandDims:
		return &expandDimsKernel{}, true, nil
	case tflite.OpSplit:
		return &splitKernel{}, true, nil
	case tflite.OpCast:
		return &castKernel{}, true, nil
	case tflite.OpArgMax:
		return &argMaxKernel{}, true, nil
	case tflite.OpMaximum, tflite.OpMinimum, tflite.OpSquaredDifference, tflite.OpDiv:
		return &binaryMoreKernel{}, true, nil
	case tflite.OpReduceMax, tflite.OpSum:
		return &reduceKernel{}, true, nil
	case tflite.OpReduceProd:
		return &prodKernel{}, true, nil
	case tflite.OpLess, tflite.OpLessEqual, tflite.OpGreater, tflite.OpGreaterEqual, tflite.OpEqual, tflite.OpNotEqual:
		return &compareKernel{}, true, nil
	case tflite.OpTile:
		return &tileKernel{}, true, nil
	case tflite.OpSelect, tflite.OpSelectV2:
		return &selectKernel{}, true, nil
	case tflite.OpPadV2:
		return &padV2Kernel{}, true, nil
	case tflite.OpResizeBilinear, tflite.OpResizeNearestNeighbor:
		return &resizeKernel{}, true, nil
	case tflite.OpTransposeConv:
		return &hybridKernel{base: &transposeConvKernel{}, xIn: 2}, true, nil
	case tflite.OpBatchMatMul:
		return &batchMatMulKernel{}, true, nil
	}
	return &unaryMoreKernel{}, true, nil
}

// ---- unary: LEAKY_RELU, ELU, HARD_SWISH, GELU, RSQRT, SQRT, EXP, ABS, NEG,
// SQUARE. Float32 elementwise; int8 through a 256-entry table of the float
// function between the input's and output's quantization.

type unaryMoreKernel struct {
	float bool
	f     func(float32) float32
	lut   *kernels.LUT
}

func geluExact(x float32) float32 {
	return float32(0.5 * float64(x) * (1 + math.Erf(float64(x)/math.Sqrt2)))
}

func geluTanh(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v))))
}

func (k *unaryMoreKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 1, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	y.Shape = slices.Clone(x.Shape)
	var f func(float32) float32
	switch n.op {
	case tflite.OpLeakyRelu:
		alpha := float32(0)
		if o, ok := n.opts.(*tflite.LeakyReluOptions); ok {
			alpha = o.Alpha
		}
		f = func(v float32) float32 {
			if v > 0 {
				return v
			}
			return alpha * v
		}
	case tflite.OpElu:
		f = func(v float32) float32 {
			if v < 0 {
				return float32(math.Expm1(float64(v)))
			}
			return v
		}
	case tflite.OpHardSwish:
		f = func(v float32) float32 { return v * min(max(v+3, 0), 6) / 6 }
	case tflite.OpGelu:
		f = geluExact
		if o, ok := n.opts.(*tflite.GeluOptions); ok && o.Approximate {
			f = geluTanh
		}
	case tflite.OpRsqrt:
		f = func(v float32) float32 { return float32(1 / math.Sqrt(float64(v))) }
	case tflite.OpSqrt:
		f = func(v float32) float32 { return float32(math.Sqrt(float64(v))) }
	case tflite.OpExp:
		f = kernels.Expf
	case tflite.OpAbs:
		f = func(v float32) float32 { return float32(math.Abs(float64(v))) }
	case tflite.OpNeg:
		f = func(v float32) float32 { return -v }
	case tflite.OpSquare:
		f = func(v float32) float32 { return v * v }
	default:
		return errf(ErrUnsupported, "operator %v", n.op)
	}
	k.f = f
	switch {
	case x.Type == tflite.Float32 && y.Type == tflite.Float32:
		k.float = true
	case x.Type == tflite.Int8 && y.Type == tflite.Int8:
		if err := quantCheck(x, "input"); err != nil {
			return err
		}
		if err := quantCheck(y, "output"); err != nil {
			return err
		}
		k.lut = kernels.NewLUT(x.Scale(), x.ZeroPoint(), y.Scale(), y.ZeroPoint(), f)
		if n.op == tflite.OpLeakyRelu && ip.opts.Requant == XNNPack {
			k.lut = leakyReluXNN(x, y, n)
		}
	default:
		return typeErr(n, x, y)
	}
	return nil
}

func (k *unaryMoreKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	if k.float {
		out := y.Float32s()
		for i, v := range x.Float32s() {
			out[i] = k.f(v)
		}
		return
	}
	k.lut.Apply(x.Int8s(), y.Int8s())
}

// ---- binary: MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, DIV with broadcasting.
// Int8 through a 64 Ki table of the float function of the dequantized
// inputs, quantized to the output (round half away from zero).

type binaryMoreKernel struct {
	float  bool
	bc     kernels.Broadcast
	f      func(a, b float32) float32
	lo, hi float32
	table  []int8
}

func (k *binaryMoreKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	a, b, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	bc, shape, ok := kernels.NewBroadcast(a.Shape, b.Shape)
	if !ok {
		return errf(ErrInvalid, "shapes %v and %v do not broadcast", a.Shape, b.Shape)
	}
	k.bc, y.Shape = bc, shape
	ac := kernels.ActNone
	if n.op == tflite.OpDiv {
		var err error
		if ac, err = act(n.opts); err != nil {
			return err
		}
	}
	switch n.op {
	case tflite.OpMaximum:
		k.f = func(p, q float32) float32 { return max(p, q) }
	case tflite.OpMinimum:
		k.f = func(p, q float32) float32 { return min(p, q) }
	case tflite.OpSquaredDifference:
		k.f = func(p, q float32) float32 { return (p - q) * (p - q) }
	default:
		k.f = func(p, q float32) float32 { return p / q }
	}
	switch {
	case a.Type == tflite.Float32 && b.Type == tflite.Float32 && y.Type == tflite.Float32:
		k.float = true
		k.lo, k.hi = kernels.FloatActivationRange(ac)
		return nil
	case a.Type == tflite.Int8 && b.Type == tflite.Int8 && y.Type == tflite.Int8:
	default:
		return typeErr(n, a, b, y)
	}
	for _, t := range []*Tensor{a, b, y} {
		if err := quantCheck(t, "int8"); err != nil {
			return err
		}
	}
	lo, hi := kernels.ActivationRange(ac, y.Scale(), y.ZeroPoint())
	if k.table == nil {
		k.table = make([]int8, 1<<16)
	}
	sa, za, sb, zb, sy, zy := a.Scale(), a.ZeroPoint(), b.Scale(), b.ZeroPoint(), y.Scale(), y.ZeroPoint()
	sqDiff := newSqDiffParams(sa, za, sb, zb, sy, zy)
	for i := range 256 {
		for j := range 256 {
			v := k.f(sa*float32(int32(int8(i))-za), sb*float32(int32(int8(j))-zb))
			q := int32(kernels.RoundHalfAway32(v/sy)) + zy
			if n.op == tflite.OpMaximum || n.op == tflite.OpMinimum {
				// Equal quantization (as TFLite requires) keeps the byte.
				if sa == sy && sb == sy && za == zy && zb == zy {
					q = int32(int8(i))
					if (n.op == tflite.OpMaximum) == (int8(j) > int8(i)) {
						q = int32(int8(j))
					}
				}
			}
			if n.op == tflite.OpSquaredDifference {
				q = sqDiff.apply(int32(int8(i)), int32(int8(j)))
			}
			k.table[i<<8|j] = int8(min(max(q, lo), hi))
		}
	}
	return nil
}

// sqDiffParams is TFLite's int8 SQUARED_DIFFERENCE (squared_difference.cc):
// inputs shifted left by 7 and rescaled to twice the larger input scale,
// the difference squared in int32 and requantized to the output.
type sqDiffParams struct {
	zp1, zp2, zpOut int32
	m1, m2, mOut    int32
	s1, s2, sOut    int
}

func newSqDiffParams(s1 float32, zp1 int32, s2 float32, zp2 int32, so float32, zpo int32) sqDiffParams {
	twice := 2 * math.Max(float64(s1), float64(s2))
	p := sqDiffParams{zp1: zp1, zp2: zp2, zpOut: zpo}
	p.m1, p.s1 = kernels.QuantizeMultiplier(float64(s1) / twice)
	p.m2, p.s2 = kernels.QuantizeMultiplier(float64(s2) / twice)
	p.mOut, p.sOut = kernels.QuantizeMultiplier(twice * twice / (float64(1<<14) * float64(so)))
	return p
}

func (p sqDiffParams) apply(a, b int32) int32 {
	x := kernels.MultiplyByQuantizedMultiplier((a-p.zp1)<<7, p.m1, p.s1)
	y := kernels.MultiplyByQuantizedMultiplier((b-p.zp2)<<7, p.m2, p.s2)
	d := x - y
	return kernels.MultiplyByQuantizedMultiplier(d*d, p.mOut, p.sOut) + p.zpOut
}

func (k *binaryMoreKernel) eval(ip *Interpreter, n *node) {
	a, b, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	if k.float {
		av, bv, out := a.Float32s(), b.Float32s(), y.Float32s()
		k.bc.Each(func(o, ia, ib int) { out[o] = min(max(k.f(av[ia], bv[ib]), k.lo), k.hi) })
		return
	}
	av, bv, out, tab := a.Int8s(), b.Int8s(), y.Int8s(), k.table
	k.bc.Each(func(o, ia, ib int) { out[o] = tab[int(uint8(av[ia]))<<8|int(uint8(bv[ib]))] })
}

// ---- REDUCE_MAX (float32, int8 with equal quantization) and SUM (float32)

type reduceKernel struct {
	mean   meanKernel // shape and index derivation
	float  bool
	fmax   []float32
	imax   []int8
	isMax  bool
	lutOut *kernels.LUT
}

func (k *reduceKernel) prepare(ip *Interpreter, n *node) error {
	x, y := ip.in(n, 0), ip.out(n, 0)
	if x == nil || y == nil {
		return errf(ErrInvalid, "missing input")
	}
	// MEAN's prepare derives the output shape and index map; it accepts
	// float32 or int8 pairs and checks their quantization.
	if err := k.mean.prepare(ip, n); err != nil {
		return err
	}
	k.isMax = n.op == tflite.OpReduceMax
	k.float = x.Type == tflite.Float32
	if !k.float && !k.isMax {
		return errf(ErrUnsupported, "int8 SUM")
	}
	nOut := y.NumElements()
	if k.float {
		k.fmax = make([]float32, nOut)
	} else {
		if err := sameQuant(x, y); err != nil {
			return err
		}
		k.imax = make([]int8, nOut)
	}
	return nil
}

func (k *reduceKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	idx := k.mean.outIdx
	if k.float {
		out := y.Float32s()
		if k.isMax {
			for i := range out {
				out[i] = float32(math.Inf(-1))
			}
			for i, v := range x.Float32s() {
				out[idx[i]] = max(out[idx[i]], v)
			}
			return
		}
		clear(out)
		for i, v := range x.Float32s() {
			out[idx[i]] += v
		}
		return
	}
	out := y.Int8s()
	for i := range out {
		out[i] = -128
	}
	for i, v := range x.Int8s() {
		out[idx[i]] = max(out[idx[i]], v)
	}
}

// ---- PADV2 (PAD with a constant value input)

type padV2Kernel struct{ padKernel }

func (k *padV2Kernel) prepare(ip *Interpreter, n *node) error {
	if err := k.padKernel.prepare(ip, n); err != nil {
		return err
	}
	v := ip.in(n, 2)
	if v == nil {
		return nil
	}
	x := ip.in(n, 0)
	if !v.isConst || v.Type != x.Type || v.NumElements() != 1 {
		return errf(ErrUnsupported, "pad value %q of type %v (want a constant scalar of the input's type)", v.Name, v.Type)
	}
	if x.Type == tflite.Int8 && (v.quantized() && (v.Scale() != x.Scale() || v.ZeroPoint() != x.ZeroPoint())) {
		return errf(ErrUnsupported, "int8 pad value with its own quantization")
	}
	copy(k.fill, v.data)
	return nil
}

// ---- REDUCE_PROD of INT32 or FLOAT32 (the converter's shape arithmetic:
// the product of dimensions before a RESHAPE)

type prodKernel struct {
	mean  meanKernel
	float bool
}

func (k *prodKernel) prepare(ip *Interpreter, n *node) error {
	x, y := ip.in(n, 0), ip.out(n, 0)
	if x == nil || y == nil || x.Type != y.Type || (x.Type != tflite.Int32 && x.Type != tflite.Float32) {
		return typeErr(n, x, y)
	}
	// Derive the shape and index map as MEAN does, on a float32 view of the
	// types (the arithmetic here is the product).
	xt, yt := x.Type, y.Type
	x.Type, y.Type = tflite.Float32, tflite.Float32
	err := k.mean.prepare(ip, n)
	x.Type, y.Type = xt, yt
	k.float = xt == tflite.Float32
	return err
}

func (k *prodKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	idx := k.mean.outIdx
	if k.float {
		out := y.Float32s()
		for i := range out {
			out[i] = 1
		}
		for i, v := range x.Float32s() {
			out[idx[i]] *= v
		}
		return
	}
	out := y.Int32s()
	for i := range out {
		out[i] = 1
	}
	for i, v := range x.Int32s() {
		out[idx[i]] *= v
	}
}

// ---- CONCATENATION of INT32/INT64 (shape arithmetic); float32 and int8 go
// to concatKernel.

type concatAnyKernel struct {
	base  concatKernel
	ints  bool
	es    int
	outer int
	inner []int // bytes per outer step of each input
}

func (k *concatAnyKernel) prepare(ip *Interpreter, n *node) error {
	x0 := ip.in(n, 0)
	k.ints = x0 != nil && (x0.Type == tflite.Int32 || x0.Type == tflite.Int64)
	if !k.ints {
		return k.base.prepare(ip, n)
	}
	if err := need(ip, n, len(n.in), 1); err != nil {
		return err
	}
	axis := 0
	if o, ok := n.opts.(*tflite.ConcatenationOptions); ok {
		axis = o.Axis
	}
	y := ip.out(n, 0)
	rank := len(x0.Shape)
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank || y.Type != x0.Type {
		return errf(ErrInvalid, "axis %d for %v", axis, x0.Shape)
	}
	k.es = x0.Type.Size()
	k.outer = 1
	for _, d := range x0.Shape[:axis] {
		k.outer *= d
	}
	shape := slices.Clone(x0.Shape)
	shape[axis] = 0
	k.inner = k.inner[:0]
	for j := range n.in {
		x := ip.in(n, j)
		if x.Type != x0.Type || len(x.Shape) != rank {
			return typeErr(n, x0, x)
		}
		shape[axis] += x.Shape[axis]
		in := k.es
		for _, d := range x.Shape[axis:] {
			in *= d
		}
		k.inner = append(k.inner, in)
	}
	y.Shape = shape
	return nil
}

func (k *concatAnyKernel) eval(ip *Interpreter, n *node) {
	if !k.ints {
		k.base.eval(ip, n)
		return
	}
	out := ip.out(n, 0).data
	o := 0
	for b := 0; b < k.outer; b++ {
		for j, in := range k.inner {
			copy(out[o:o+in], ip.in(n, j).data[b*in:(b+1)*in])
			o += in
		}
	}
}

// leakyReluXNN tabulates XNNPACK's int8 leaky ReLU (what the official
// runtime's default build runs): multipliers lrintf(256*s_in/s_out) and
// lrintf(256*alpha*s_in/s_out), out = ((zp_out<<8) + 0x80 + (x-zp_in)*m) >> 8.
func leakyReluXNN(x, y *Tensor, n *node) *kernels.LUT {
	alpha := float32(0)
	if o, ok := n.opts.(*tflite.LeakyReluOptions); ok {
		alpha = o.Alpha
	}
	pos := x.Scale() / y.Scale()
	neg := pos * alpha
	mp := int32(kernels.RoundHalfEven32(256 * pos))
	mn := int32(kernels.RoundHalfEven32(256 * neg))
	bias := y.ZeroPoint()<<8 + 0x80
	var lut kernels.LUT
	for v := -128; v <= 127; v++ {
		acc := int32(v) - x.ZeroPoint()
		m := mp
		if acc < 0 {
			m = mn
		}
		lut[uint8(int8(v))] = int8(min(max((bias+acc*m)>>8, -128), 127))
	}
	return &lut
}
