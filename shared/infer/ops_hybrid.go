package infer

import (
	"fmt"
	"math"

	"github.com/megapipe/mega/shared/infer/kernels"
	"github.com/megapipe/mega/shared/tflite"
)

// Hybrid (dynamic-range) FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D and
// TRANSPOSE_CONV: float32 input and output with int8 weights (per-tensor or
// per-channel scales), as the converter's default optimization writes them.
// In XNNPack mode FULLY_CONNECTED and the convolutions quantize the input at
// run time as XNNPACK does (evalFCXNN, evalConvXNN, evalTransposeConv);
// otherwise the weights
// are dequantized once at load (w = scale_c * q) and the float kernels run.

type hybridKernel struct {
	base   kernel
	xIn    int // input index of the activations (2 for TRANSPOSE_CONV)
	wIndex int // index of the dequantized weight tensor added to the interpreter
	n2     node
	hybrid bool
	// Convolutions in XNNPack mode: integer-valued float weights (q - zp),
	// the image quantized per batch item, and the integer sums.
	wInt      []float32
	xq, accum []float32
	// TRANSPOSE_CONV in XNNPack mode (qd8 per batch item, as the
	// convolutions); n3 reads integer-valued float weights and
	// the quantized input from the tensors added at xqIndex and wIntIndex.
	n3                 node
	xqIndex, wIntIndex int
	tlo, thi           float32
	sf                 []float32
}

func (k *hybridKernel) prepare(ip *Interpreter, n *node) error {
	x, w := ip.in(n, k.xIn), ip.in(n, 1)
	k.hybrid = x != nil && w != nil && x.Type == tflite.Float32 && w.Type == tflite.Int8
	if !k.hybrid {
		return k.base.prepare(ip, n)
	}
	if !w.isConst {
		return errf(ErrUnsupported, "hybrid operator with non-constant int8 weights %q", w.Name)
	}
	if err := quantCheck(w, "weights"); err != nil {
		return err
	}
	if k.wIndex == 0 {
		key := fmt.Sprintf("hybrid/%d/%d", ip.opts.Subgraph, n.in[1])
		data := ip.shared.packedWeights(key, func() any { return dequantInt8(w) }).([]byte)
		ip.tensors = append(ip.tensors, &Tensor{Name: w.Name + "/dequantized", Type: tflite.Float32, Shape: w.Shape,
			index: len(ip.tensors), data: data, isConst: true})
		k.wIndex = len(ip.tensors) - 1
	}
	k.n2 = *n
	k.n2.in = append([]int(nil), n.in...)
	k.n2.in[1] = k.wIndex
	if err := k.base.prepare(ip, &k.n2); err != nil {
		return err
	}
	n.macs = k.n2.macs
	if tc, ok := k.base.(*transposeConvKernel); ok && ip.opts.Requant == XNNPack {
		return k.prepareTransposeConv(ip, n, tc, x, w)
	}
	if cv, ok := k.base.(*convKernel); ok {
		q := w.Int8s()
		k.wInt = make([]float32, len(q))
		zp := w.ZeroPoint()
		for i, v := range q {
			k.wInt[i] = float32(int32(v) - zp)
		}
		k.xq = make([]float32, x.NumElements())
		k.accum = make([]float32, ip.out(n, 0).NumElements())
		_ = cv
	}
	return nil
}

func (k *hybridKernel) eval(ip *Interpreter, n *node) {
	if k.hybrid {
		if fc, ok := k.base.(*fcKernel); ok && ip.opts.Requant == XNNPack {
			k.evalFCXNN(ip, n, fc)
			return
		}
		if tc, ok := k.base.(*transposeConvKernel); ok && ip.opts.Requant == XNNPack {
			k.evalTransposeConv(ip, n, tc)
			return
		}
		if cv, ok := k.base.(*convKernel); ok && ip.opts.Requant == XNNPack {
			k.evalConvXNN(ip, n, cv)
			return
		}
		k.base.eval(ip, &k.n2)
		return
	}
	k.base.eval(ip, n)
}

// evalFCXNN is XNNPACK's dynamically quantized fully connected layer (what
// the official runtime's default build runs for a hybrid FULLY_CONNECTED):
// each input row is quantized to int8 with its own asymmetric parameters
// (xnn_f32_qd8_asymmetric_quantization_params, then f32-qs8 conversion),
// multiplied with the int8 weights in int32, and scaled back in float.
func (k *hybridKernel) evalFCXNN(ip *Interpreter, n *node, fc *fcKernel) {
	x, w, b, y := ip.in(n, 0), ip.in(n, 1), ip.in(n, 2), ip.out(n, 0)
	xs, wq, out := x.Float32s(), w.Int8s(), y.Float32s()
	var bias []float32
	if b != nil {
		bias = b.Float32s()
	}
	ws := w.scales()
	wzp := w.ZeroPoint()
	for r := 0; r < fc.batch; r++ {
		row := xs[r*fc.inDim : (r+1)*fc.inDim]
		zp, invScale, cvt := qd8Params(row)
		for c := 0; c < fc.outN; c++ {
			wr := wq[c*fc.inDim : (c+1)*fc.inDim]
			var acc int32
			for i, v := range row {
				q := min(max(v*cvt, float32(-128-zp)), float32(127-zp))
				qa := int32(kernels.RoundHalfEven32(q))
				acc += qa * (int32(wr[i]) - wzp)
			}
			sc := ws[0]
			if len(ws) > 1 {
				sc = ws[c]
			}
			v := float32(acc) * invScale * sc
			if bias != nil {
				v += bias[c]
			}
			out[r*fc.outN+c] = min(max(v, fc.lo), fc.hi)
		}
	}
}

// qd8Params returns XNNPACK's dynamic quantization of a row: zero point,
// dequantization scale and the conversion multiplier.
func qd8Params(row []float32) (zp int32, invScale, cvt float32) {
	lo, hi := float32(0), float32(0)
	for _, v := range row {
		lo, hi = min(lo, v), max(hi, v)
	}
	const qmin, qmax = float32(-128), float32(127)
	scale := float32(1)
	if lo != hi {
		scale = (qmax - qmin) / (hi - lo)
	}
	dmin, dmax := lo*scale, hi*scale
	z := qmax - dmax
	if (qmin+dmin)+(qmax+dmax) > 0 {
		z = qmin - dmin
	}
	z = min(max(z, qmin), qmax)
	zp = int32(kernels.RoundHalfEven32(z))
	invScale = 1 / scale
	cvt = 1 / invScale
	return zp, invScale, cvt
}

// dequantInt8 dequantizes an int8 tensor with per-tensor or per-axis
// quantization into float32 bytes.
func dequantInt8(t *Tensor) []byte {
	q := t.Int8s()
	out := alignedBytes(4 * len(q))
	f := (&Tensor{Type: tflite.Float32, data: out}).Float32s()
	sc, zp := t.Quantization.Scale, t.Quantization.ZeroPoint
	inner, dim := 1, 1
	if len(sc) > 1 {
		qd := t.Quantization.QuantizedDimension
		if qd >= 0 && qd < len(t.Shape) {
			dim = t.Shape[qd]
			for _, d := range t.Shape[qd+1:] {
				inner *= d
			}
		}
	}
	for i, v := range q {
		c := 0
		if len(sc) > 1 && dim == len(sc) {
			c = (i / inner) % dim
		}
		z := int64(0)
		if c < len(zp) {
			z = zp[c]
		}
		f[i] = sc[c] * float32(int64(v)-z)
	}
	return out
}

// dequantizeAnyKernel is DEQUANTIZE of int8 (per-tensor or per-channel) and
// FLOAT16 tensors to float32; on constants it is folded at load.
type dequantizeAnyKernel struct {
	base    dequantizeKernel
	perAxis bool
	f16     bool
}

func (k *dequantizeAnyKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 1, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	k.f16 = x.Type == tflite.Float16 && y.Type == tflite.Float32
	k.perAxis = x.Type == tflite.Int8 && len(x.scales()) > 1 && y.Type == tflite.Float32
	if k.f16 || k.perAxis {
		y.Shape = append([]int(nil), x.Shape...)
		return nil
	}
	return k.base.prepare(ip, n)
}

func (k *dequantizeAnyKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	switch {
	case k.f16:
		out := y.Float32s()
		for i := range out {
			out[i] = float16to32(uint16(x.data[2*i]) | uint16(x.data[2*i+1])<<8)
		}
	case k.perAxis:
		copy(y.data, dequantInt8(x))
	default:
		k.base.eval(ip, n)
	}
}

// float16to32 converts an IEEE 754 half-precision value.
func float16to32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		return float32(math.Ldexp(float64(frac), -24)) * float32(1-2*int(h>>15))
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
}

// evalConvXNN is the dynamically quantized convolution: each batch item of
// the input is quantized with its own qd8 parameters, convolved with the
// int8 weights (integer sums, exact in float32 below 2^24), and scaled back.
func (k *hybridKernel) evalConvXNN(ip *Interpreter, n *node, cv *convKernel) {
	x, w, b, y := ip.in(n, 0), ip.in(n, 1), ip.in(n, 2), ip.out(n, 0)
	xs, out := x.Float32s(), y.Float32s()
	s := cv.s
	per := len(xs) / max(s.Batch, 1)
	outPer := len(out) / max(s.Batch, 1)
	ws := w.scales()
	var bias []float32
	if b != nil {
		bias = b.Float32s()
	}
	inf := float32(math.Inf(1))
	one := s
	one.Batch = 1
	// A 1x1 convolution with stride 1 is a fully connected layer over the
	// pixels, which XNNPACK quantizes per pixel (row).
	if !cv.depthwise && s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.PadTop == 0 && s.PadLeft == 0 {
		per, outPer = s.InC, s.OutC
		one.InH, one.InW, one.OutH, one.OutW = 1, 1, 1, 1
	}
	for bi := 0; bi < len(xs)/per; bi++ {
		img := xs[bi*per : (bi+1)*per]
		zp, invScale, cvt := qd8Params(img)
		xq := k.xq[bi*per : (bi+1)*per]
		for i, v := range img {
			q := min(max(v*cvt, float32(-128-zp)), float32(127-zp))
			xq[i] = kernels.RoundHalfEven32(q)
		}
		acc := k.accum[bi*outPer : (bi+1)*outPer]
		if cv.depthwise {
			kernels.DepthwiseConv2DFloat(one, xq, k.wInt, nil, -inf, inf, acc)
		} else {
			kernels.Conv2DFloat(one, xq, k.wInt, nil, -inf, inf, acc)
		}
		o := out[bi*outPer : (bi+1)*outPer]
		for i, a := range acc {
			c := i % s.OutC
			sc := ws[0]
			if len(ws) > 1 {
				sc = ws[c]
			}
			v := a * invScale * sc
			if bias != nil {
				v += bias[c]
			}
			o[i] = min(max(v, cv.lo), cv.hi)
		}
	}
}

func (k *hybridKernel) prepareTransposeConv(ip *Interpreter, n *node, tc *transposeConvKernel, x, w *Tensor) error {
	q := w.Int8s()
	wi := alignedBytes(4 * len(q))
	wf := (&Tensor{Type: tflite.Float32, data: wi}).Float32s()
	for i, v := range q {
		wf[i] = float32(int32(v) - w.ZeroPoint())
	}
	xb := alignedBytes(4 * max(x.NumElements(), 1))
	if k.xqIndex == 0 {
		ip.tensors = append(ip.tensors, &Tensor{Name: w.Name + "/integer", Type: tflite.Float32, index: len(ip.tensors), isConst: true},
			&Tensor{Name: x.Name + "/quantized", Type: tflite.Float32, index: len(ip.tensors) + 1, isConst: true})
		k.wIntIndex, k.xqIndex = len(ip.tensors)-2, len(ip.tensors)-1
	}
	wt, xt := ip.tensors[k.wIntIndex], ip.tensors[k.xqIndex]
	wt.Shape, wt.data = w.Shape, wi
	xt.Shape, xt.data = x.Shape, xb[:4*x.NumElements()]
	k.n3 = *n
	k.n3.in = []int{n.in[0], k.wIntIndex, k.xqIndex}
	if err := tc.prepare(ip, &k.n3); err != nil {
		return err
	}
	k.tlo, k.thi = tc.lo, tc.hi
	k.sf = make([]float32, 0, tc.b)
	inf := float32(math.Inf(1))
	tc.lo, tc.hi = -inf, inf
	return nil
}

// evalTransposeConv quantizes each batch item with XNNPACK's qd8 parameters,
// sums in integers (exact in float32 below 2^24) and scales back with the
// per-channel weight scales.
func (k *hybridKernel) evalTransposeConv(ip *Interpreter, n *node, tc *transposeConvKernel) {
	x, w, y := ip.in(n, 2), ip.in(n, 1), ip.out(n, 0)
	var bias []float32
	if b := ip.in(n, 3); b != nil {
		bias = b.Float32s()
	}
	xs, xq := x.Float32s(), ip.tensors[k.xqIndex].Float32s()
	per := len(xs) / max(tc.b, 1)
	sf := k.sf[:0]
	for bi := 0; bi < tc.b; bi++ {
		img := xs[bi*per : (bi+1)*per]
		zp, invScale, cvt := qd8Params(img)
		for i, v := range img {
			q := min(max(v*cvt, float32(-128-zp)), float32(127-zp))
			xq[bi*per+i] = kernels.RoundHalfEven32(q)
		}
		sf = append(sf, invScale)
	}
	tc.eval(ip, &k.n3)
	out := y.Float32s()
	ws := w.scales()
	outPer := len(out) / max(tc.b, 1)
	for i, v := range out {
		c := i % tc.oc
		sc := ws[0]
		if len(ws) > 1 {
			sc = ws[c]
		}
		v = v * sf[i/outPer] * sc
		if bias != nil {
			v += bias[c]
		}
		out[i] = min(max(v, k.tlo), k.thi)
	}
}
