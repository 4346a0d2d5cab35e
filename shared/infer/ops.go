package infer

import (
	"fmt"
	"math"
	"slices"

	"github.com/megapipe/mega/shared/infer/kernels"
	"github.com/megapipe/mega/shared/tflite"
)

// maxVersion is the highest version of each supported builtin operator;
// versions above it add features (types, options) this interpreter lacks.
var maxVersion = map[tflite.BuiltinOperator]int{
	tflite.OpFullyConnected:  12,
	tflite.OpConv2D:          8,
	tflite.OpDepthwiseConv2D: 7,
	tflite.OpAveragePool2D:   3,
	tflite.OpMaxPool2D:       3,
	tflite.OpReshape:         2,
	tflite.OpSoftmax:         3,
	tflite.OpLogistic:        3,
	tflite.OpTanh:            3,
	tflite.OpRelu:            3,
	tflite.OpRelu6:           3,
	tflite.OpReluN1To1:       2,
	tflite.OpAdd:             5,
	tflite.OpSub:             5,
	tflite.OpMul:             7,
	tflite.OpConcatenation:   4,
	tflite.OpMean:            3,
	tflite.OpPad:             4,
	tflite.OpQuantize:        3,
	tflite.OpDequantize:      5,
	tflite.OpSqueeze:         2,
}

// SupportedOps lists the builtin operators the interpreter runs, with their
// highest supported version.
func SupportedOps() map[string]int {
	out := map[string]int{}
	for op, v := range maxVersion {
		out[op.String()] = v
	}
	for op, v := range moreVersion {
		out[op.String()] = v
	}
	return out
}

func newKernel(code tflite.OperatorCode) (kernel, error) {
	if code.Builtin == tflite.OpCustom {
		return nil, fmt.Errorf("%w operator: CUSTOM %q", ErrUnsupported, code.Custom)
	}
	if k, ok, err := newMoreKernel(code); ok {
		return k, err
	}
	mv, ok := maxVersion[code.Builtin]
	if !ok {
		return nil, fmt.Errorf("%w operator: %v", ErrUnsupported, code.Builtin)
	}
	if code.Version > mv {
		return nil, fmt.Errorf("%w operator version: %v version %d (supported up to %d)", ErrUnsupported, code.Builtin, code.Version, mv)
	}
	switch code.Builtin {
	case tflite.OpFullyConnected:
		return &fcKernel{}, nil
	case tflite.OpConv2D:
		return &convKernel{}, nil
	case tflite.OpDepthwiseConv2D:
		return &convKernel{depthwise: true}, nil
	case tflite.OpAveragePool2D:
		return &poolKernel{avg: true}, nil
	case tflite.OpMaxPool2D:
		return &poolKernel{}, nil
	case tflite.OpReshape, tflite.OpSqueeze:
		return &reshapeKernel{}, nil
	case tflite.OpSoftmax:
		return &softmaxKernel{}, nil
	case tflite.OpLogistic, tflite.OpTanh, tflite.OpRelu, tflite.OpRelu6, tflite.OpReluN1To1:
		return &unaryKernel{}, nil
	case tflite.OpAdd, tflite.OpSub, tflite.OpMul:
		return &binaryKernel{}, nil
	case tflite.OpConcatenation:
		return &concatKernel{}, nil
	case tflite.OpMean:
		return &meanKernel{}, nil
	case tflite.OpPad:
		return &padKernel{}, nil
	case tflite.OpQuantize:
		return &quantizeKernel{}, nil
	case tflite.OpDequantize:
		return &dequantizeKernel{}, nil
	}
	return nil, fmt.Errorf("%w operator: %v", ErrUnsupported, code.Builtin)
}

// errf builds an error wrapping a sentinel.
func errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// need checks that n has at least nin inputs present and nout outputs.
func need(ip *Interpreter, n *node, nin, nout int) error {
	if len(n.in) < nin || len(n.out) < nout {
		return errf(ErrInvalid, "%d inputs and %d outputs, want at least %d and %d", len(n.in), len(n.out), nin, nout)
	}
	for j := 0; j < nin; j++ {
		if n.in[j] < 0 {
			return errf(ErrInvalid, "input %d is missing", j)
		}
	}
	return nil
}

// quantCheck checks that an int8 tensor has a usable per-tensor quantization.
func quantCheck(t *Tensor, what string) error {
	if !t.quantized() {
		return errf(ErrInvalid, "%s tensor %q is INT8 without quantization", what, t.Name)
	}
	for _, s := range t.scales() {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return errf(ErrInvalid, "%s tensor %q has scale %v", what, t.Name, s)
		}
	}
	if zp := t.ZeroPoint(); zp < -128 || zp > 127 {
		return errf(ErrInvalid, "%s tensor %q has zero point %d", what, t.Name, zp)
	}
	return nil
}

// weightedTypes checks the types of a weighted op (FULLY_CONNECTED, CONV_2D,
// DEPTHWISE_CONV_2D): float32 throughout, or int8 input, weights and output
// with an int32 bias, each int8 tensor quantized. It reports which.
func weightedTypes(n *node, x, w, b, y *Tensor) (float bool, err error) {
	switch {
	case x.Type == tflite.Float32 && w.Type == tflite.Float32 && y.Type == tflite.Float32 && (b == nil || b.Type == tflite.Float32):
		return true, nil
	case x.Type == tflite.Int8 && w.Type == tflite.Int8 && y.Type == tflite.Int8 && (b == nil || b.Type == tflite.Int32):
	default:
		return false, typeErr(n, x, w, b, y)
	}
	for _, t := range []*Tensor{x, w, y} {
		if err := quantCheck(t, "int8"); err != nil {
			return false, err
		}
	}
	return false, nil
}

func typeErr(n *node, ts ...*Tensor) error {
	var types []string
	for _, t := range ts {
		if t == nil {
			types = append(types, "none")
		} else {
			types = append(types, t.Type.String())
		}
	}
	return errf(ErrUnsupported, "type combination %v", types)
}

func act(o tflite.Options) (kernels.Activation, error) {
	a := tflite.FusedActivation(o)
	switch a {
	case tflite.ActNone, tflite.ActRelu, tflite.ActRelu6, tflite.ActReluN1To1:
		return kernels.Activation(a), nil
	}
	return 0, errf(ErrUnsupported, "fused activation %v", a)
}

// ---- FULLY_CONNECTED

type fcKernel struct {
	float              bool
	batch, inDim, outN int
	rq                 *kernels.Requant
	wZP, inZP          int32
	lo, hi             float32
	bias32             []int32
	packed             *packedFC
	st                 *fcState
	fst                *floatState // float32 vector kernels (floatk.go)
}

func (k *fcKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	x, w, b, y := ip.in(n, 0), ip.in(n, 1), ip.in(n, 2), ip.out(n, 0)
	o, _ := n.opts.(*tflite.FullyConnectedOptions)
	if o == nil {
		o = &tflite.FullyConnectedOptions{}
	}
	if o.WeightsFormat != 0 {
		return errf(ErrUnsupported, "weights format %d", o.WeightsFormat)
	}
	a, err := act(o)
	if err != nil {
		return err
	}
	if len(w.Shape) != 2 || !w.isConst {
		return errf(ErrUnsupported, "weights must be a constant [units, depth] tensor, got %v", w.Shape)
	}
	k.outN, k.inDim = w.Shape[0], w.Shape[1]
	if k.inDim == 0 || x.NumElements()%k.inDim != 0 {
		return errf(ErrInvalid, "input of %d elements for depth %d", x.NumElements(), k.inDim)
	}
	k.batch = x.NumElements() / k.inDim
	if b != nil && b.NumElements() != k.outN {
		return errf(ErrInvalid, "bias of %d elements for %d units", b.NumElements(), k.outN)
	}
	if o.KeepNumDims {
		y.Shape = append(slices.Clone(x.Shape[:len(x.Shape)-1]), k.outN)
		if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != k.inDim {
			return errf(ErrInvalid, "keep_num_dims with input %v and depth %d", x.Shape, k.inDim)
		}
	} else {
		y.Shape = []int{k.batch, k.outN}
	}
	n.macs = int64(k.batch) * int64(k.inDim) * int64(k.outN)
	if k.float, err = weightedTypes(n, x, w, b, y); err != nil {
		return err
	}
	if k.float {
		k.lo, k.hi = kernels.FloatActivationRange(a)
		k.fst = newFloatState(ip, fmt.Sprintf("ffc/%d/%d", ip.opts.Subgraph, n.index), w, k.outN, k.inDim, 0, true)
		return nil
	}
	ws := w.scales()
	if len(ws) != 1 && len(ws) != k.outN {
		return errf(ErrInvalid, "%d weight scales for %d units", len(ws), k.outN)
	}
	if len(ws) > 1 {
		k.wZP = 0
	} else {
		k.wZP = w.ZeroPoint()
	}
	k.inZP = x.ZeroPoint()
	lo, hi := kernels.ActivationRange(a, y.Scale(), y.ZeroPoint())
	k.rq = kernels.NewRequant(ip.opts.Requant, x.Scale(), ws, y.Scale(), y.ZeroPoint(), lo, hi, len(ws) == 1)
	if b != nil {
		k.bias32 = b.Int32s()
	}
	key := fmt.Sprintf("fc/%d/%d", ip.opts.Subgraph, n.index)
	k.packed = ip.shared.packedWeights(key, func() any { return packFC(w.Int8s(), k.outN, k.inDim, k.wZP) }).(*packedFC)
	k.st = &fcState{biasEff: k.packed.g.biasEff(k.bias32, k.inZP), acc: k.packed.g.newAcc()}
	return nil
}

func (k *fcKernel) eval(ip *Interpreter, n *node) {
	x, w, b, y := ip.in(n, 0), ip.in(n, 1), ip.in(n, 2), ip.out(n, 0)
	if k.float {
		var bias []float32
		if b != nil {
			bias = b.Float32s()
		}
		fcFloat(k.fst, k.batch, k.inDim, k.outN, x.Float32s(), w.Float32s(), bias, k.lo, k.hi, y.Float32s())
		return
	}
	fcInt8(k.packed, k.st, k.batch, x.Int8s(), k.inZP, k.bias32, k.rq, y.Int8s())
}

// ---- CONV_2D and DEPTHWISE_CONV_2D

type convKernel struct {
	depthwise bool
	float     bool
	s         kernels.ConvShape
	rq        *kernels.Requant
	inZP      int32
	lo, hi    float32
	bias32    []int32
	packed    *packedConv
	st        *convState
	fst       *floatState // float32 vector kernels (floatk.go)
}

func (k *convKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	x, w, b, y := ip.in(n, 0), ip.in(n, 1), ip.in(n, 2), ip.out(n, 0)
	var pad tflite.Padding
	var sw, sh, dw, dh, mult int
	var a kernels.Activation
	var err error
	if k.depthwise {
		o, ok := n.opts.(*tflite.DepthwiseConv2DOptions)
		if !ok {
			return errf(ErrInvalid, "missing DepthwiseConv2DOptions")
		}
		pad, sw, sh, dw, dh, mult = o.Padding, o.StrideW, o.StrideH, o.DilationW, o.DilationH, o.DepthMultiplier
		a, err = act(o)
	} else {
		o, ok := n.opts.(*tflite.Conv2DOptions)
		if !ok {
			return errf(ErrInvalid, "missing Conv2DOptions")
		}
		pad, sw, sh, dw, dh = o.Padding, o.StrideW, o.StrideH, o.DilationW, o.DilationH
		a, err = act(o)
	}
	if err != nil {
		return err
	}
	dw, dh = max(dw, 1), max(dh, 1)
	if sw < 1 || sh < 1 || pad > tflite.PaddingValid || pad < 0 {
		return errf(ErrInvalid, "strides %dx%d padding %v", sh, sw, pad)
	}
	if len(x.Shape) != 4 || len(w.Shape) != 4 || !w.isConst {
		return errf(ErrUnsupported, "input %v and filter %v (want rank 4, constant filter)", x.Shape, w.Shape)
	}
	s := kernels.ConvShape{Batch: x.Shape[0], InH: x.Shape[1], InW: x.Shape[2], InC: x.Shape[3],
		KH: w.Shape[1], KW: w.Shape[2], StrideH: sh, StrideW: sw, DilH: dh, DilW: dw}
	if k.depthwise {
		if w.Shape[0] != 1 || s.InC == 0 || w.Shape[3]%s.InC != 0 {
			return errf(ErrInvalid, "depthwise filter %v for %d input channels", w.Shape, s.InC)
		}
		s.OutC = w.Shape[3]
		s.DepthMultiplier = s.OutC / s.InC
		_ = mult // the filter's shape decides; some converters leave the option at 0 or 1
	} else {
		if w.Shape[3] != s.InC {
			return errf(ErrUnsupported, "grouped convolution (filter %v, %d input channels)", w.Shape, s.InC)
		}
		s.OutC = w.Shape[0]
	}
	if s.KH < 1 || s.KW < 1 {
		return errf(ErrInvalid, "filter %v", w.Shape)
	}
	s.OutH, s.PadTop = kernels.OutSize(kernels.Padding(pad), s.InH, s.KH, sh, dh)
	s.OutW, s.PadLeft = kernels.OutSize(kernels.Padding(pad), s.InW, s.KW, sw, dw)
	k.s = s
	y.Shape = []int{s.Batch, s.OutH, s.OutW, s.OutC}
	if b != nil && b.NumElements() != s.OutC {
		return errf(ErrInvalid, "bias of %d elements for %d channels", b.NumElements(), s.OutC)
	}
	if k.depthwise {
		n.macs = int64(s.Batch) * int64(s.OutH*s.OutW) * int64(s.OutC) * int64(s.KH*s.KW)
	} else {
		n.macs = s.MACs()
	}
	if k.float, err = weightedTypes(n, x, w, b, y); err != nil {
		return err
	}
	if k.float {
		k.lo, k.hi = kernels.FloatActivationRange(a)
		kk := s.KH * s.KW * s.InC
		k.fst = newFloatState(ip, fmt.Sprintf("fconv/%d/%d", ip.opts.Subgraph, n.index), w, s.OutC, kk, im2colChunk*kk, !k.depthwise)
		return nil
	}
	ws := w.scales()
	if len(ws) != 1 && len(ws) != s.OutC {
		return errf(ErrInvalid, "%d filter scales for %d channels", len(ws), s.OutC)
	}
	if len(ws) == 1 && w.ZeroPoint() != 0 {
		return errf(ErrUnsupported, "int8 filter with zero point %d", w.ZeroPoint())
	}
	k.inZP = x.ZeroPoint()
	lo, hi := kernels.ActivationRange(a, y.Scale(), y.ZeroPoint())
	k.rq = kernels.NewRequant(ip.opts.Requant, x.Scale(), ws, y.Scale(), y.ZeroPoint(), lo, hi, false)
	k.bias32 = nil
	if b != nil {
		k.bias32 = b.Int32s()
	}
	key := fmt.Sprintf("conv/%d/%d", ip.opts.Subgraph, n.index)
	k.packed = ip.shared.packedWeights(key, func() any { return packConv(k.depthwise, w.Int8s(), s) }).(*packedConv)
	k.st = newConvState(k.packed, s, k.bias32, k.inZP)
	return nil
}

func (k *convKernel) eval(ip *Interpreter, n *node) {
	x, w, b, y := ip.in(n, 0), ip.in(n, 1), ip.in(n, 2), ip.out(n, 0)
	if k.float {
		var bias []float32
		if b != nil {
			bias = b.Float32s()
		}
		if k.depthwise {
			depthwiseFloat(k.fst, k.s, x.Float32s(), w.Float32s(), bias, k.lo, k.hi, y.Float32s())
		} else {
			convFloat(k.fst, k.s, x.Float32s(), w.Float32s(), bias, k.lo, k.hi, y.Float32s())
		}
		return
	}
	if k.depthwise {
		depthwiseInt8(k.packed, k.st, k.s, x.Int8s(), k.inZP, k.rq, y.Int8s())
	} else {
		convInt8(k.packed, k.st, k.s, x.Int8s(), k.inZP, k.rq, y.Int8s())
	}
}

// ---- pools

type poolKernel struct {
	avg      bool
	float    bool
	s        kernels.ConvShape
	lo, hi   int32
	flo, fhi float32
}

func (k *poolKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 1, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	o, ok := n.opts.(*tflite.Pool2DOptions)
	if !ok {
		return errf(ErrInvalid, "missing Pool2DOptions")
	}
	a, err := act(o)
	if err != nil {
		return err
	}
	if len(x.Shape) != 4 {
		return errf(ErrInvalid, "input %v, want rank 4", x.Shape)
	}
	if o.StrideW < 1 || o.StrideH < 1 || o.FilterWidth < 1 || o.FilterHeight < 1 || o.Padding < 0 || o.Padding > 1 {
		return errf(ErrInvalid, "filter %dx%d strides %dx%d", o.FilterHeight, o.FilterWidth, o.StrideH, o.StrideW)
	}
	s := kernels.ConvShape{Batch: x.Shape[0], InH: x.Shape[1], InW: x.Shape[2], InC: x.Shape[3], OutC: x.Shape[3],
		KH: o.FilterHeight, KW: o.FilterWidth, StrideH: o.StrideH, StrideW: o.StrideW, DilH: 1, DilW: 1}
	s.OutH, s.PadTop = kernels.OutSize(kernels.Padding(o.Padding), s.InH, s.KH, s.StrideH, 1)
	s.OutW, s.PadLeft = kernels.OutSize(kernels.Padding(o.Padding), s.InW, s.KW, s.StrideW, 1)
	k.s = s
	y.Shape = []int{s.Batch, s.OutH, s.OutW, s.OutC}
	switch {
	case x.Type == tflite.Float32 && y.Type == tflite.Float32:
		k.float = true
		k.flo, k.fhi = kernels.FloatActivationRange(a)
	case x.Type == tflite.Int8 && y.Type == tflite.Int8:
		if err := quantCheck(y, "output"); err != nil {
			return err
		}
		k.lo, k.hi = kernels.ActivationRange(a, y.Scale(), y.ZeroPoint())
	default:
		return typeErr(n, x, y)
	}
	return nil
}

func (k *poolKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	switch {
	case k.float && k.avg:
		kernels.AvgPoolFloat(k.s, x.Float32s(), k.flo, k.fhi, y.Float32s())
	case k.float:
		kernels.MaxPoolFloat(k.s, x.Float32s(), k.flo, k.fhi, y.Float32s())
	case k.avg:
		kernels.AvgPoolInt8(k.s, x.Int8s(), k.lo, k.hi, y.Int8s())
	default:
		kernels.MaxPoolInt8(k.s, x.Int8s(), k.lo, k.hi, y.Int8s())
	}
}

// ---- RESHAPE and SQUEEZE (a copy: input and output may not share memory)

type reshapeKernel struct{}

func (k *reshapeKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 1, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	if x.Type != y.Type || x.Type.Size() == 0 {
		return typeErr(n, x, y)
	}
	count := x.NumElements()
	var shape []int
	if n.op == tflite.OpSqueeze {
		o, _ := n.opts.(*tflite.SqueezeOptions)
		for i, d := range x.Shape {
			if d == 1 && (o == nil || len(o.SqueezeDims) == 0 || slices.Contains(o.SqueezeDims, i) || slices.Contains(o.SqueezeDims, i-len(x.Shape))) {
				continue
			}
			shape = append(shape, d)
		}
	} else if st := ip.in(n, 1); st != nil && st.isConst {
		v, ok := st.ints()
		if !ok {
			return errf(ErrUnsupported, "shape tensor of type %v", st.Type)
		}
		shape = v
	} else if o, ok := n.opts.(*tflite.ReshapeOptions); ok && o.NewShape != nil {
		shape = slices.Clone(o.NewShape)
	} else if st != nil {
		return errf(ErrUnsupported, "non-constant shape tensor")
	} else {
		shape = slices.Clone(y.Shape)
	}
	shape = slices.Clone(shape)
	unknown, prod := -1, 1
	for i, d := range shape {
		switch {
		case d == -1 && unknown < 0:
			unknown = i
		case d < 0:
			return errf(ErrInvalid, "new shape %v", shape)
		default:
			prod *= d
		}
	}
	if unknown >= 0 {
		if prod == 0 || count%prod != 0 {
			return errf(ErrInvalid, "cannot reshape %v to %v", x.Shape, shape)
		}
		shape[unknown] = count / prod
		prod = count
	}
	// A batch-resized input meets a constant shape with batch 1: scale the
	// first dimension (the batch) to match, as the batch is on axis 0.
	if prod != count && len(shape) > 0 && shape[0] == 1 && prod > 0 && count%prod == 0 {
		shape[0] = count / prod
		prod = count
	}
	if prod != count {
		return errf(ErrInvalid, "cannot reshape %v (%d elements) to %v", x.Shape, count, shape)
	}
	y.Shape = shape
	return nil
}

func (k *reshapeKernel) eval(ip *Interpreter, n *node) {
	copy(ip.out(n, 0).data, ip.in(n, 0).data)
}

// ---- SOFTMAX

type softmaxKernel struct {
	float bool
	beta  float32
	depth int
	table *kernels.SoftmaxTable
	sOut  float32
	zpOut int32
}

func (k *softmaxKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 1, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	k.beta = 1
	if o, ok := n.opts.(*tflite.SoftmaxOptions); ok {
		k.beta = o.Beta
	}
	if len(x.Shape) == 0 {
		return errf(ErrInvalid, "scalar input")
	}
	y.Shape = slices.Clone(x.Shape)
	k.depth = x.Shape[len(x.Shape)-1]
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
		k.table = kernels.NewSoftmaxTable(x.Scale(), k.beta)
		k.sOut, k.zpOut = y.Scale(), y.ZeroPoint()
	default:
		return typeErr(n, x, y)
	}
	return nil
}

func (k *softmaxKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	if k.float {
		kernels.SoftmaxFloat(x.Float32s(), k.depth, k.beta, y.Float32s())
		return
	}
	kernels.SoftmaxInt8(k.table, x.Int8s(), k.depth, k.sOut, k.zpOut, y.Int8s())
}

// ---- LOGISTIC, TANH, RELU, RELU6, RELU_N1_TO_1

type unaryKernel struct {
	float bool
	f     func(float32) float32
	lut   *kernels.LUT
}

func (k *unaryKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 1, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	y.Shape = slices.Clone(x.Shape)
	var f func(float32) float32
	var a kernels.Activation
	switch n.op {
	case tflite.OpLogistic:
		f = kernels.Logistic
	case tflite.OpTanh:
		f = kernels.Tanh
	case tflite.OpRelu:
		a = kernels.ActRelu
	case tflite.OpRelu6:
		a = kernels.ActRelu6
	case tflite.OpReluN1To1:
		a = kernels.ActReluN1To1
	}
	switch {
	case x.Type == tflite.Float32 && y.Type == tflite.Float32:
		k.float = true
		if f == nil {
			lo, hi := kernels.FloatActivationRange(a)
			f = func(v float32) float32 { return min(max(v, lo), hi) }
		}
		k.f = f
	case x.Type == tflite.Int8 && y.Type == tflite.Int8:
		if err := quantCheck(x, "input"); err != nil {
			return err
		}
		if err := quantCheck(y, "output"); err != nil {
			return err
		}
		if f != nil {
			k.lut = kernels.NewLUT(x.Scale(), x.ZeroPoint(), y.Scale(), y.ZeroPoint(), f)
			return nil
		}
		// TFLite's int8 ReluX: requantize with s_in/s_out, then clamp to the
		// activation range of the output.
		m, sh := kernels.QuantizeMultiplier(float64(x.Scale()) / float64(y.Scale()))
		lo, hi := kernels.ActivationRange(a, y.Scale(), y.ZeroPoint())
		var lut kernels.LUT
		for v := -128; v <= 127; v++ {
			q := kernels.MultiplyByQuantizedMultiplier(int32(v)-x.ZeroPoint(), m, sh) + y.ZeroPoint()
			lut[uint8(int8(v))] = int8(min(max(q, lo), hi))
		}
		k.lut = &lut
	default:
		return typeErr(n, x, y)
	}
	return nil
}

func (k *unaryKernel) eval(ip *Interpreter, n *node) {
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

// ---- ADD, SUB, MUL

type binaryKernel struct {
	float  bool
	bc     kernels.Broadcast
	lo, hi float32
	table  []int8 // int8: 64 Ki entries, out = table[uint8(a)<<8 | uint8(b)]
}

func (k *binaryKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	a, b, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	ac, err := act(n.opts)
	if err != nil {
		return err
	}
	bc, shape, ok := kernels.NewBroadcast(a.Shape, b.Shape)
	if !ok {
		return errf(ErrInvalid, "shapes %v and %v do not broadcast", a.Shape, b.Shape)
	}
	k.bc = bc
	y.Shape = shape
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
	// Every int8 binary op is a function of the two input bytes: tabulate it
	// once (exact, and one load per element at run time).
	var f func(x, z int8) int8
	switch n.op {
	case tflite.OpMul:
		p := kernels.NewMulParams(ip.opts.Requant, a.Scale(), a.ZeroPoint(), b.Scale(), b.ZeroPoint(), y.Scale(), y.ZeroPoint(), lo, hi)
		f = p.Apply
	default:
		p := kernels.NewAddParams(a.Scale(), a.ZeroPoint(), b.Scale(), b.ZeroPoint(), y.Scale(), y.ZeroPoint(), lo, hi, n.op == tflite.OpSub)
		f = p.Apply
	}
	if k.table == nil {
		k.table = make([]int8, 1<<16)
	}
	for i := range 256 {
		for j := range 256 {
			k.table[i<<8|j] = f(int8(i), int8(j))
		}
	}
	return nil
}

func (k *binaryKernel) eval(ip *Interpreter, n *node) {
	a, b, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	if k.float {
		av, bv, out := a.Float32s(), b.Float32s(), y.Float32s()
		lo, hi := k.lo, k.hi
		switch {
		case k.bc.Same && n.op == tflite.OpAdd:
			for i := range out {
				out[i] = min(max(av[i]+bv[i], lo), hi)
			}
		case k.bc.Same && n.op == tflite.OpSub:
			for i := range out {
				out[i] = min(max(av[i]-bv[i], lo), hi)
			}
		case k.bc.Same:
			for i := range out {
				out[i] = min(max(av[i]*bv[i], lo), hi)
			}
		default:
			op := n.op
			k.bc.Each(func(o, ia, ib int) {
				var v float32
				switch op {
				case tflite.OpAdd:
					v = av[ia] + bv[ib]
				case tflite.OpSub:
					v = av[ia] - bv[ib]
				default:
					v = av[ia] * bv[ib]
				}
				out[o] = min(max(v, lo), hi)
			})
		}
		return
	}
	av, bv, out, tab := a.Int8s(), b.Int8s(), y.Int8s(), k.table
	if k.bc.Same {
		for i := range out {
			out[i] = tab[int(uint8(av[i]))<<8|int(uint8(bv[i]))]
		}
		return
	}
	k.bc.Each(func(o, ia, ib int) { out[o] = tab[int(uint8(av[ia]))<<8|int(uint8(bv[ib]))] })
}

// ---- CONCATENATION

type concatKernel struct {
	axis   int
	outer  int
	inner  []int // elements per outer step of each input
	luts   []*kernels.LUT
	float  bool
	lo, hi float32
	size   int
}

func (k *concatKernel) prepare(ip *Interpreter, n *node) error {
	if len(n.in) < 1 || len(n.out) < 1 {
		return errf(ErrInvalid, "no inputs")
	}
	if err := need(ip, n, len(n.in), 1); err != nil {
		return err
	}
	o, _ := n.opts.(*tflite.ConcatenationOptions)
	if o == nil {
		o = &tflite.ConcatenationOptions{}
	}
	ac, err := act(o)
	if err != nil {
		return err
	}
	x0, y := ip.in(n, 0), ip.out(n, 0)
	rank := len(x0.Shape)
	axis := o.Axis
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return errf(ErrInvalid, "axis %d for rank %d", o.Axis, rank)
	}
	k.axis = axis
	shape := slices.Clone(x0.Shape)
	shape[axis] = 0
	k.inner = k.inner[:0]
	k.luts = k.luts[:0]
	k.float = x0.Type == tflite.Float32
	if x0.Type != tflite.Float32 && x0.Type != tflite.Int8 {
		return typeErr(n, x0)
	}
	if y.Type != x0.Type {
		return typeErr(n, x0, y)
	}
	k.outer = 1
	for _, d := range x0.Shape[:axis] {
		k.outer *= d
	}
	lo, hi := kernels.ActivationRange(ac, y.Scale(), y.ZeroPoint())
	k.lo, k.hi = kernels.FloatActivationRange(ac)
	for j := range n.in {
		x := ip.in(n, j)
		if x.Type != x0.Type || len(x.Shape) != rank {
			return errf(ErrInvalid, "input %d: %v %v vs %v %v", j, x.Type, x.Shape, x0.Type, x0.Shape)
		}
		for d := range rank {
			if d != axis && x.Shape[d] != x0.Shape[d] {
				return errf(ErrInvalid, "input %d shape %v vs %v", j, x.Shape, x0.Shape)
			}
		}
		shape[axis] += x.Shape[axis]
		in := 1
		for _, d := range x.Shape[axis:] {
			in *= d
		}
		k.inner = append(k.inner, in)
		if !k.float {
			if err := quantCheck(x, "input"); err != nil {
				return err
			}
			if err := quantCheck(y, "output"); err != nil {
				return err
			}
			// TFLite requires int8 inputs and output to share one
			// quantization (concatenation.cc); the official runtime rejects
			// others, so this interpreter does too.
			if x.Scale() != y.Scale() || x.ZeroPoint() != y.ZeroPoint() {
				return errf(ErrInvalid, "int8 input %d quantization (%v, %d) differs from the output's (%v, %d)",
					j, x.Scale(), x.ZeroPoint(), y.Scale(), y.ZeroPoint())
			}
			var lut kernels.LUT
			for v := -128; v <= 127; v++ {
				lut[uint8(int8(v))] = int8(min(max(int32(v), lo), hi))
			}
			k.luts = append(k.luts, &lut)
		}
	}
	y.Shape = shape
	return nil
}

func (k *concatKernel) eval(ip *Interpreter, n *node) {
	y := ip.out(n, 0)
	if k.float {
		out := y.Float32s()
		o := 0
		for b := 0; b < k.outer; b++ {
			for j, in := range k.inner {
				src := ip.in(n, j).Float32s()[b*in : (b+1)*in]
				for i, v := range src {
					out[o+i] = min(max(v, k.lo), k.hi)
				}
				o += in
			}
		}
		return
	}
	out := y.Int8s()
	o := 0
	for b := 0; b < k.outer; b++ {
		for j, in := range k.inner {
			k.luts[j].Apply(ip.in(n, j).Int8s()[b*in:(b+1)*in], out[o:o+in])
			o += in
		}
	}
}

// ---- MEAN

type meanKernel struct {
	float       bool
	axes        []bool
	inShape     []int
	outIdx      []int32 // output index of every input element
	count       int
	sum         []float32
	isum        []int32
	scale, bias float32
	zpOut       int32
}

func (k *meanKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	x, at, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	if !at.isConst {
		return errf(ErrUnsupported, "non-constant axes")
	}
	axes, ok := at.ints()
	if !ok {
		return errf(ErrUnsupported, "axes of type %v", at.Type)
	}
	keep := false
	if o, ok := n.opts.(*tflite.ReducerOptions); ok {
		keep = o.KeepDims
	}
	rank := len(x.Shape)
	k.axes = make([]bool, rank)
	for _, a := range axes {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return errf(ErrInvalid, "axis %d for rank %d", a, rank)
		}
		k.axes[a] = true
	}
	var shape []int
	k.count = 1
	for d, s := range x.Shape {
		if k.axes[d] {
			k.count *= s
			if keep {
				shape = append(shape, 1)
			}
		} else {
			shape = append(shape, s)
		}
	}
	y.Shape = shape
	nOut := y.NumElements()
	// Precompute the output index of each input element (no work per call).
	k.outIdx = make([]int32, x.NumElements())
	idx := make([]int, rank)
	for i := range k.outIdx {
		o := 0
		for d := 0; d < rank; d++ {
			if !k.axes[d] {
				o = o*x.Shape[d] + idx[d]
			}
		}
		k.outIdx[i] = int32(o)
		for d := rank - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < x.Shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	switch {
	case x.Type == tflite.Float32 && y.Type == tflite.Float32:
		k.float = true
		k.sum = make([]float32, nOut)
	case x.Type == tflite.Int8 && y.Type == tflite.Int8:
		if err := quantCheck(x, "input"); err != nil {
			return err
		}
		if err := quantCheck(y, "output"); err != nil {
			return err
		}
		k.isum = make([]int32, nOut)
		k.scale = x.Scale() / y.Scale()
		k.bias = -float32(x.ZeroPoint()) * k.scale
		k.zpOut = y.ZeroPoint()
	default:
		return typeErr(n, x, y)
	}
	return nil
}

func (k *meanKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	if k.float {
		clear(k.sum)
		for i, v := range x.Float32s() {
			k.sum[k.outIdx[i]] += v
		}
		out := y.Float32s()
		for i, s := range k.sum {
			out[i] = s / float32(k.count)
		}
		return
	}
	clear(k.isum)
	for i, v := range x.Int8s() {
		k.isum[k.outIdx[i]] += int32(v)
	}
	out := y.Int8s()
	for i, s := range k.isum {
		// TFLite QuantizedMeanOrSum: round(mean*scale + bias) + zp_out.
		m := float32(s) / float32(k.count)
		q := int32(kernels.RoundHalfAway32(m*k.scale+k.bias)) + k.zpOut
		out[i] = int8(min(max(q, -128), 127))
	}
}

// ---- PAD

type padKernel struct {
	before, after []int
	inShape       []int
	fill          []byte
}

func (k *padKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	x, pt, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	if !pt.isConst {
		return errf(ErrUnsupported, "non-constant paddings")
	}
	p, ok := pt.ints()
	rank := len(x.Shape)
	if !ok || len(p) != 2*rank {
		return errf(ErrInvalid, "paddings %v for rank %d", pt.Shape, rank)
	}
	if x.Type != y.Type || (x.Type != tflite.Float32 && x.Type != tflite.Int8) {
		return typeErr(n, x, y)
	}
	k.before, k.after = make([]int, rank), make([]int, rank)
	shape := make([]int, rank)
	for d := range rank {
		k.before[d], k.after[d] = p[2*d], p[2*d+1]
		if k.before[d] < 0 || k.after[d] < 0 || k.before[d] > 1<<20 || k.after[d] > 1<<20 {
			return errf(ErrInvalid, "padding %v", p)
		}
		shape[d] = x.Shape[d] + k.before[d] + k.after[d]
	}
	y.Shape = shape
	k.inShape = slices.Clone(x.Shape)
	k.fill = make([]byte, x.Type.Size())
	if x.Type == tflite.Int8 {
		if err := quantCheck(x, "input"); err != nil {
			return err
		}
		k.fill[0] = byte(int8(y.ZeroPoint()))
	}
	return nil
}

func (k *padKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	es := len(k.fill)
	out := y.data
	for i := 0; i < len(out); i += es {
		copy(out[i:i+es], k.fill)
	}
	rank := len(k.inShape)
	if x.NumElements() == 0 {
		return
	}
	// Copy rows of the last dimension into place.
	row := k.inShape[rank-1] * es
	rows := x.NumElements() / max(k.inShape[rank-1], 1)
	var idx [8]int
	for r := 0; r < rows; r++ {
		o := 0
		for d := 0; d < rank-1; d++ {
			o = o*y.Shape[d] + idx[d] + k.before[d]
		}
		o = (o*y.Shape[rank-1] + k.before[rank-1]) * es
		copy(out[o:o+row], x.data[r*row:(r+1)*row])
		for d := rank - 2; d >= 0; d-- {
			idx[d]++
			if idx[d] < k.inShape[d] {
				break
			}
			idx[d] = 0
		}
	}
}

// ---- QUANTIZE and DEQUANTIZE

type quantizeKernel struct {
	fromFloat bool
	scale     float32
	zp        int32
	xnn       bool
	lut       *kernels.LUT
}

func (k *quantizeKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 1, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	y.Shape = slices.Clone(x.Shape)
	if y.Type != tflite.Int8 {
		return typeErr(n, x, y)
	}
	if err := quantCheck(y, "output"); err != nil {
		return err
	}
	if len(y.scales()) > 1 {
		return errf(ErrUnsupported, "per-channel QUANTIZE output")
	}
	k.scale, k.zp = y.Scale(), y.ZeroPoint()
	k.xnn = ip.opts.Requant == XNNPack
	switch x.Type {
	case tflite.Float32:
		k.fromFloat = true
	case tflite.Int8:
		if err := quantCheck(x, "input"); err != nil {
			return err
		}
		k.lut = kernels.NewRequantizeLUT(ip.opts.Requant, x.Scale(), x.ZeroPoint(), y.Scale(), y.ZeroPoint())
	default:
		return typeErr(n, x, y)
	}
	return nil
}

func (k *quantizeKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	switch {
	case !k.fromFloat:
		k.lut.Apply(x.Int8s(), y.Int8s())
	case k.xnn:
		kernels.QuantizeFloatXNN(x.Float32s(), k.scale, k.zp, y.Int8s())
	default:
		kernels.QuantizeFloat(x.Float32s(), k.scale, k.zp, y.Int8s())
	}
}

type dequantizeKernel struct {
	scale float32
	zp    int32
}

func (k *dequantizeKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 1, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	y.Shape = slices.Clone(x.Shape)
	if x.Type != tflite.Int8 || y.Type != tflite.Float32 {
		return typeErr(n, x, y)
	}
	if err := quantCheck(x, "input"); err != nil {
		return err
	}
	if len(x.scales()) > 1 {
		return errf(ErrUnsupported, "per-channel DEQUANTIZE input")
	}
	k.scale, k.zp = x.Scale(), x.ZeroPoint()
	return nil
}

func (k *dequantizeKernel) eval(ip *Interpreter, n *node) {
	kernels.Dequantize(ip.in(n, 0).Int8s(), k.scale, k.zp, ip.out(n, 0).Float32s())
}
