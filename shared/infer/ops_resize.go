package infer

import (
	"math"
	"slices"

	"github.com/megapipe/mega/shared/infer/kernels"
	"github.com/megapipe/mega/shared/tflite"
)

// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR over NHWC, with TFLite's
// align_corners and half_pixel_centers coordinate rules. Int8 bilinear with
// equal input and output quantization in XNNPack mode is XNNPACK's Q11
// fixed-point interpolation (bit-exact with the official runtime); otherwise
// it interpolates the dequantized values in float and rounds half away from
// zero. Int8 nearest copies bytes.

type resizeKernel struct {
	float                bool
	nearest              bool
	b, ih, iw, c, oh, ow int
	y0, y1, x0, x1       []int
	wy, wx               []float32
	sIn, sOut, zIn, zOut float32
	q11                  bool
	ay, ax               []int32
}

func (k *resizeKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	size, err := constInts(ip.in(n, 1), "size")
	if err != nil {
		return err
	}
	if len(x.Shape) != 4 || len(size) != 2 || size[0] < 1 || size[1] < 1 || size[0] > 1<<16 || size[1] > 1<<16 {
		return errf(ErrInvalid, "input %v size %v", x.Shape, size)
	}
	var align, half bool
	switch o := n.opts.(type) {
	case *tflite.ResizeBilinearOptions:
		align, half = o.AlignCorners, o.HalfPixelCenters
	case *tflite.ResizeNearestNeighborOptions:
		align, half = o.AlignCorners, o.HalfPixelCenters
	}
	k.nearest = n.op == tflite.OpResizeNearestNeighbor
	k.b, k.ih, k.iw, k.c = x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	k.oh, k.ow = size[0], size[1]
	y.Shape = []int{k.b, k.oh, k.ow, k.c}
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
		if k.nearest {
			if err := sameQuant(x, y); err != nil {
				return err
			}
		}
		k.sIn, k.zIn, k.sOut, k.zOut = x.Scale(), float32(x.ZeroPoint()), y.Scale(), float32(y.ZeroPoint())
	default:
		return typeErr(n, x, y)
	}
	scale := func(in, out int) float32 {
		if align && out > 1 {
			return float32(in-1) / float32(out-1)
		}
		return float32(in) / float32(out)
	}
	axis := func(in, out int) (lo, hi []int, w []float32) {
		s := scale(in, out)
		for o := range out {
			if k.nearest {
				off := float32(0)
				if half {
					off = 0.5
				}
				var v int
				if align {
					v = int(math.Round(float64((float32(o) + off) * s)))
				} else {
					v = int(math.Floor(float64((float32(o) + off) * s)))
				}
				v = min(v, in-1)
				if half {
					v = max(v, 0)
				}
				lo = append(lo, v)
				continue
			}
			var v float32
			if half {
				v = (float32(o)+0.5)*s - 0.5
			} else {
				v = float32(o) * s
			}
			l := max(int(math.Floor(float64(v))), 0)
			h := min(int(math.Ceil(float64(v))), in-1)
			lo, hi, w = append(lo, l), append(hi, h), append(w, v-float32(l))
		}
		return
	}
	k.y0, k.y1, k.wy = axis(k.ih, k.oh)
	k.x0, k.x1, k.wx = axis(k.iw, k.ow)
	k.q11 = !k.float && !k.nearest && ip.opts.Requant == XNNPack && sameQuant(x, y) == nil
	if k.q11 {
		k.y0, k.y1, k.ay = xnnBilinearAxis(k.ih, k.oh, align, !align && !half)
		k.x0, k.x1, k.ax = xnnBilinearAxis(k.iw, k.ow, align, !align && !half)
	}
	return nil
}

// xnnBilinearAxis is XNNPACK's int8 resize-bilinear indexing along one axis
// (xnn_indirection_init_resize_bilinear2d_hwc_q11): source pixels and the
// interpolation weight in Q11.
func xnnBilinearAxis(in, out int, align, legacy bool) (lo, hi []int, alpha []int32) {
	adj := 0
	if align && out != 1 {
		adj = 1
	}
	scale := float32(in-adj) / float32(out-adj)
	offset := 0.5*scale - 0.5
	for o := range out {
		var v float32
		if legacy || align {
			v = float32(o) * scale
		} else {
			v = float32(o)*scale + offset
			v = min(max(v, 0), float32(in-1))
		}
		l := int(v)
		lo, hi = append(lo, l), append(hi, min(l+1, in-1))
		alpha = append(alpha, int32(kernels.RoundHalfEven32((v-float32(l))*2048)))
	}
	return
}

func (k *resizeKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	c := k.c
	at := func(b, yy, xx int) int { return ((b*k.ih+yy)*k.iw + xx) * c }
	o := 0
	for b := 0; b < k.b; b++ {
		for oy := 0; oy < k.oh; oy++ {
			for ox := 0; ox < k.ow; ox++ {
				if k.nearest {
					src := at(b, k.y0[oy], k.x0[ox])
					es := x.Type.Size()
					copy(y.data[o*es:(o+c)*es], x.data[src*es:(src+c)*es])
					o += c
					continue
				}
				p00, p10 := at(b, k.y0[oy], k.x0[ox]), at(b, k.y1[oy], k.x0[ox])
				p01, p11 := at(b, k.y0[oy], k.x1[ox]), at(b, k.y1[oy], k.x1[ox])
				if k.q11 {
					in, out := x.Int8s(), y.Int8s()
					ah, av := k.ax[ox], k.ay[oy]
					for ch := 0; ch < c; ch++ {
						tl, tr := int32(in[p00+ch]), int32(in[p01+ch])
						bl, br := int32(in[p10+ch]), int32(in[p11+ch])
						t := tl<<11 + (tr-tl)*ah
						b := bl<<11 + (br-bl)*ah
						out[o+ch] = int8((t<<11 + (b-t)*av + 1<<21) >> 22)
					}
					o += c
					continue
				}
				dy, dx := k.wy[oy], k.wx[ox]
				if k.float {
					in, out := x.Float32s(), y.Float32s()
					for ch := 0; ch < c; ch++ {
						out[o+ch] = in[p00+ch]*(1-dy)*(1-dx) + in[p10+ch]*dy*(1-dx) + in[p01+ch]*(1-dy)*dx + in[p11+ch]*dy*dx
					}
				} else {
					in, out := x.Int8s(), y.Int8s()
					for ch := 0; ch < c; ch++ {
						v := float32(in[p00+ch])*(1-dy)*(1-dx) + float32(in[p10+ch])*dy*(1-dx) +
							float32(in[p01+ch])*(1-dy)*dx + float32(in[p11+ch])*dy*dx
						q := kernels.RoundHalfAway32((v-k.zIn)*k.sIn/k.sOut) + k.zOut
						out[o+ch] = int8(min(max(q, -128), 127))
					}
				}
				o += c
			}
		}
	}
}

// ---- TRANSPOSE_CONV (Conv2DTranspose): inputs output_shape, weights
// [OC, KH, KW, IC], input [N, H, W, IC], optional bias.

type transposeConvKernel struct {
	float                     bool
	b, ih, iw, ic, oh, ow, oc int
	kh, kw, sh, sw, pt, pl    int
	lo, hi                    float32
	rq                        *kernels.Requant
	inZP                      int32
	facc                      []float32
	iacc                      []int32
}

func (k *transposeConvKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 3, 1); err != nil {
		return err
	}
	w, x, b, y := ip.in(n, 1), ip.in(n, 2), ip.in(n, 3), ip.out(n, 0)
	os, err := constInts(ip.in(n, 0), "output shape")
	if err != nil {
		return err
	}
	o, ok := n.opts.(*tflite.TransposeConvOptions)
	if !ok {
		return errf(ErrInvalid, "missing TransposeConvOptions")
	}
	a, err := act(o)
	if err != nil {
		return err
	}
	if len(x.Shape) != 4 || len(w.Shape) != 4 || len(os) != 4 || !w.isConst || o.StrideH < 1 || o.StrideW < 1 {
		return errf(ErrUnsupported, "input %v filter %v output shape %v strides %dx%d", x.Shape, w.Shape, os, o.StrideH, o.StrideW)
	}
	k.b, k.ih, k.iw, k.ic = x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	k.oc, k.kh, k.kw = w.Shape[0], w.Shape[1], w.Shape[2]
	k.oh, k.ow = os[1], os[2]
	if os[0] == 1 && k.b > 1 {
		os[0] = k.b
	}
	if w.Shape[3] != k.ic || os[3] != k.oc || os[0] != k.b || k.oh < 1 || k.ow < 1 || k.oh > 1<<16 || k.ow > 1<<16 {
		return errf(ErrInvalid, "input %v filter %v output shape %v", x.Shape, w.Shape, os)
	}
	k.sh, k.sw = o.StrideH, o.StrideW
	k.pt, k.pl = 0, 0
	if o.Padding == tflite.PaddingSame {
		// TFLite's ComputePaddingHeightWidth with the output as "input".
		pad := func(out, s, kk int) int {
			in := (out + s - 1) / s
			return max(((in-1)*s+kk-out)/2, 0)
		}
		k.pt, k.pl = pad(k.oh, k.sh, k.kh), pad(k.ow, k.sw, k.kw)
	}
	y.Shape = []int{k.b, k.oh, k.ow, k.oc}
	if b != nil && b.NumElements() != k.oc {
		return errf(ErrInvalid, "bias of %d elements for %d channels", b.NumElements(), k.oc)
	}
	n.macs = int64(k.b*k.ih*k.iw) * int64(k.ic*k.kh*k.kw*k.oc)
	switch {
	case x.Type == tflite.Float32 && w.Type == tflite.Float32 && y.Type == tflite.Float32 && (b == nil || b.Type == tflite.Float32):
		k.float = true
		k.lo, k.hi = kernels.FloatActivationRange(a)
		k.facc = make([]float32, y.NumElements())
	case x.Type == tflite.Int8 && w.Type == tflite.Int8 && y.Type == tflite.Int8 && (b == nil || b.Type == tflite.Int32):
		for _, t := range []*Tensor{x, w, y} {
			if err := quantCheck(t, "int8"); err != nil {
				return err
			}
		}
		ws := w.scales()
		if len(ws) != 1 && len(ws) != k.oc {
			return errf(ErrInvalid, "%d filter scales for %d channels", len(ws), k.oc)
		}
		if len(ws) == 1 {
			ws = slices.Repeat(ws, k.oc)
		}
		lo, hi := kernels.ActivationRange(a, y.Scale(), y.ZeroPoint())
		k.rq = kernels.NewRequant(ip.opts.Requant, x.Scale(), ws, y.Scale(), y.ZeroPoint(), lo, hi, false)
		k.inZP = x.ZeroPoint()
		k.iacc = make([]int32, y.NumElements())
	default:
		return typeErr(n, x, w, b, y)
	}
	return nil
}

func (k *transposeConvKernel) eval(ip *Interpreter, n *node) {
	w, x, b, y := ip.in(n, 1), ip.in(n, 2), ip.in(n, 3), ip.out(n, 0)
	if k.float {
		clear(k.facc)
	} else {
		clear(k.iacc)
	}
	xf, wf := x.Float32s(), w.Float32s()
	xq, wq := x.Int8s(), w.Int8s()
	for bb := 0; bb < k.b; bb++ {
		for iy := 0; iy < k.ih; iy++ {
			for ix := 0; ix < k.iw; ix++ {
				in := ((bb*k.ih+iy)*k.iw + ix) * k.ic
				for ky := 0; ky < k.kh; ky++ {
					oy := iy*k.sh - k.pt + ky
					if oy < 0 || oy >= k.oh {
						continue
					}
					for kx := 0; kx < k.kw; kx++ {
						ox := ix*k.sw - k.pl + kx
						if ox < 0 || ox >= k.ow {
							continue
						}
						ob := ((bb*k.oh+oy)*k.ow + ox) * k.oc
						for oc := 0; oc < k.oc; oc++ {
							wb := ((oc*k.kh+ky)*k.kw + kx) * k.ic
							if k.float {
								var s float32
								for ic := 0; ic < k.ic; ic++ {
									s += xf[in+ic] * wf[wb+ic]
								}
								k.facc[ob+oc] += s
							} else {
								var s int32
								for ic := 0; ic < k.ic; ic++ {
									s += (int32(xq[in+ic]) - k.inZP) * int32(wq[wb+ic])
								}
								k.iacc[ob+oc] += s
							}
						}
					}
				}
			}
		}
	}
	if k.float {
		out := y.Float32s()
		var bias []float32
		if b != nil {
			bias = b.Float32s()
		}
		for i, v := range k.facc {
			if bias != nil {
				v += bias[i%k.oc]
			}
			out[i] = min(max(v, k.lo), k.hi)
		}
		return
	}
	out := y.Int8s()
	var bias []int32
	if b != nil {
		bias = b.Int32s()
	}
	for i, v := range k.iacc {
		c := i % k.oc
		if bias != nil {
			v += bias[c]
		}
		out[i] = k.rq.Apply(v, c)
	}
}

// ---- BATCH_MATMUL: [..., M, K] x [..., K, N] (adj_x / adj_y transpose the
// last two dimensions), batch dimensions equal or the right side's 1.

type batchMatMulKernel struct {
	float      bool
	batch, rb  int // rb: right batch count (1 or batch)
	m, kk, nn  int
	adjX, adjY bool
	rq         *kernels.Requant
	za, zb     int32
}

func (k *batchMatMulKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	a, b, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	if o, ok := n.opts.(*tflite.BatchMatMulOptions); ok {
		k.adjX, k.adjY = o.AdjX, o.AdjY
	}
	ra, rb := len(a.Shape), len(b.Shape)
	if ra < 2 || rb < 2 {
		return errf(ErrInvalid, "shapes %v and %v", a.Shape, b.Shape)
	}
	k.m, k.kk = a.Shape[ra-2], a.Shape[ra-1]
	if k.adjX {
		k.m, k.kk = k.kk, k.m
	}
	kb, nn := b.Shape[rb-2], b.Shape[rb-1]
	if k.adjY {
		kb, nn = nn, kb
	}
	k.nn = nn
	if kb != k.kk {
		return errf(ErrInvalid, "inner dimensions of %v and %v", a.Shape, b.Shape)
	}
	k.batch = a.NumElements() / max(k.m*k.kk, 1)
	k.rb = b.NumElements() / max(kb*nn, 1)
	if k.rb != 1 && k.rb != k.batch {
		return errf(ErrUnsupported, "batch broadcast of %v and %v", a.Shape, b.Shape)
	}
	shape := slices.Clone(a.Shape[:ra-2])
	if rb > ra {
		shape = slices.Clone(b.Shape[:rb-2])
	}
	y.Shape = append(shape, k.m, nn)
	n.macs = int64(k.batch) * int64(k.m*k.kk*nn)
	switch {
	case a.Type == tflite.Float32 && b.Type == tflite.Float32 && y.Type == tflite.Float32:
		k.float = true
	case a.Type == tflite.Int8 && b.Type == tflite.Int8 && y.Type == tflite.Int8:
		for _, t := range []*Tensor{a, b, y} {
			if err := quantCheck(t, "int8"); err != nil {
				return err
			}
		}
		k.za, k.zb = a.ZeroPoint(), b.ZeroPoint()
		// The official runtime runs int8 BATCH_MATMUL with its own kernel
		// (not XNNPACK): gemmlowp fixed-point requantization in both modes.
		k.rq = kernels.NewRequant(kernels.Reference, a.Scale(), []float32{b.Scale()}, y.Scale(), y.ZeroPoint(), -128, 127, true)
	default:
		return typeErr(n, a, b, y)
	}
	return nil
}

func (k *batchMatMulKernel) eval(ip *Interpreter, n *node) {
	a, b, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	m, kk, nn := k.m, k.kk, k.nn
	ai := func(i, p int) int {
		if k.adjX {
			return p*m + i
		}
		return i*kk + p
	}
	bi := func(p, j int) int {
		if k.adjY {
			return j*kk + p
		}
		return p*nn + j
	}
	for bt := 0; bt < k.batch; bt++ {
		ao, bo, yo := bt*m*kk, 0, bt*m*nn
		if k.rb > 1 {
			bo = bt * kk * nn
		}
		if k.float {
			av, bv, out := a.Float32s()[ao:], b.Float32s()[bo:], y.Float32s()[yo:]
			for i := 0; i < m; i++ {
				for j := 0; j < nn; j++ {
					var s float32
					for p := 0; p < kk; p++ {
						s += av[ai(i, p)] * bv[bi(p, j)]
					}
					out[i*nn+j] = s
				}
			}
			continue
		}
		av, bv, out := a.Int8s()[ao:], b.Int8s()[bo:], y.Int8s()[yo:]
		for i := 0; i < m; i++ {
			for j := 0; j < nn; j++ {
				var s int32
				for p := 0; p < kk; p++ {
					s += (int32(av[ai(i, p)]) - k.za) * (int32(bv[bi(p, j)]) - k.zb)
				}
				out[i*nn+j] = k.rq.Apply(s, 0)
			}
		}
	}
}
