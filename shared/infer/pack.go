package infer

import (
	"math"

	"github.com/megapipe/mega/shared/infer/kernels"
)

// The fast int8 kernels compute out[m,n] = requant(Σ_k w[n,k]*x[m,k] + biasEff[n])
// with biasEff[n] = bias[n] - zp_in*Σ_k w[n,k]: the input zero point is folded
// into the bias, and image padding is filled with zp_in so that padded taps
// contribute exactly zero, as in the reference kernels. All sums are exact
// int32 arithmetic, so the results are bit-identical to the reference loops.
//
// Weights are packed once per model (shared by clones) in blocks of 8 output
// channels and pairs of k: for block b and pair p, 16 int16 values
// w[8b+0,2p], w[8b+0,2p+1], w[8b+1,2p], ... . A vector kernel multiplies a
// broadcast pair of inputs by one such row (VPMADDWD) into 8 int32 sums, one
// per output channel, with no horizontal sums.

// packedGEMM is a [N,K] int8 weight matrix packed for the GEMM kernels.
// Blocks of 8 output channels are grouped by 4: group g holds, for each pair
// q, the 16 int16 of each of its 4 blocks back to back (64 per pair), so a
// kernel computing 32 channels reads one stream. Blocks past the last full
// group are stored one after another, 16 int16 per pair.
type packedGEMM struct {
	n, k   int
	nb, k2 int     // blocks of 8 channels, pairs of k
	ng     int     // full groups of 4 blocks
	w      []int16 // nb * k2 * 16
	colSum []int32 // Σ_k w[n,k]
	// w8 packs the full groups as int8 quads of k for VPDPBUSD (nil unless
	// k is a multiple of 4): for group g and quad u, 128 bytes at
	// (g*k/4+u)*128, block i of the group at +32i, channel j at +4j, then
	// w[n, 4u..4u+3].
	w8 []int8
}

// blockAt returns where block b starts in w and the distance between its
// consecutive pairs.
func (p *packedGEMM) blockAt(b int) (base, stride int) {
	if b < 4*p.ng {
		return (b/4)*p.k2*64 + (b%4)*16, 64
	}
	return p.ng*p.k2*64 + (b-4*p.ng)*p.k2*16, 16
}

// packQuads makes packGEMM add the int8 quad packing (packedGEMM.w8), set
// where the VPDPBUSD kernel can run.
var packQuads bool

func packGEMM(w []int8, n, k int) *packedGEMM {
	p := &packedGEMM{n: n, k: k, nb: (n + 7) / 8, k2: (k + 1) / 2}
	p.ng = p.nb / 4
	p.w = make([]int16, p.nb*p.k2*16)
	p.colSum = make([]int32, p.nb*8)
	for o := 0; o < n; o++ {
		b, j := o/8, o%8
		base, stride := p.blockAt(b)
		for d := 0; d < k; d++ {
			v := w[o*k+d]
			p.w[base+(d/2)*stride+2*j+d%2] = int16(v)
			p.colSum[o] += int32(v)
		}
	}
	if packQuads && k%4 == 0 && p.ng > 0 {
		k4 := k / 4
		p.w8 = make([]int8, p.ng*k4*128)
		for o := 0; o < min(p.ng*32, n); o++ {
			g, i, j := o/32, (o%32)/8, o%8
			for d := 0; d < k; d++ {
				p.w8[(g*k4+d/4)*128+i*32+j*4+d%4] = w[o*k+d]
			}
		}
	}
	return p
}

// newAcc returns per-interpreter GEMM scratch: nb*8 accumulators followed
// by room for two rows of broadcast input pairs (8 copies of each pair),
// which the vector kernel fills once per row pair and reuses for every block.
func (p *packedGEMM) newAcc() []int32 { return make([]int32, p.nb*8+2*p.k2*8) }

// biasEff returns bias - zp*colSum, padded to whole blocks.
func (p *packedGEMM) biasEff(bias []int32, zp int32) []int32 {
	out := make([]int32, p.nb*8)
	for o := 0; o < p.n; o++ {
		if bias != nil {
			out[o] = bias[o]
		}
		out[o] -= zp * p.colSum[o]
	}
	return out
}

// dotRowGo computes acc[n] = biasEff[n] + Σ_k w[n,k]*row[k] for all blocks
// (plain Go).
func dotRowGo(p *packedGEMM, row []int8, biasEff, acc []int32) {
	k2 := p.k2
	kEven := p.k / 2
	_ = k2
	for b := 0; b < p.nb; b++ {
		base, stride := p.blockAt(b)
		wb := p.w[base : base+(k2-1)*stride+16]
		bb := biasEff[b*8 : b*8+8]
		a0, a1, a2, a3, a4, a5, a6, a7 := bb[0], bb[1], bb[2], bb[3], bb[4], bb[5], bb[6], bb[7]
		for q := 0; q < kEven; q++ {
			x0, x1 := int32(row[2*q]), int32(row[2*q+1])
			w := wb[q*stride : q*stride+16]
			a0 += int32(w[0])*x0 + int32(w[1])*x1
			a1 += int32(w[2])*x0 + int32(w[3])*x1
			a2 += int32(w[4])*x0 + int32(w[5])*x1
			a3 += int32(w[6])*x0 + int32(w[7])*x1
			a4 += int32(w[8])*x0 + int32(w[9])*x1
			a5 += int32(w[10])*x0 + int32(w[11])*x1
			a6 += int32(w[12])*x0 + int32(w[13])*x1
			a7 += int32(w[14])*x0 + int32(w[15])*x1
		}
		if p.k%2 == 1 {
			x0 := int32(row[p.k-1])
			w := wb[kEven*stride : kEven*stride+16]
			a0 += int32(w[0]) * x0
			a1 += int32(w[2]) * x0
			a2 += int32(w[4]) * x0
			a3 += int32(w[6]) * x0
			a4 += int32(w[8]) * x0
			a5 += int32(w[10]) * x0
			a6 += int32(w[12]) * x0
			a7 += int32(w[14]) * x0
		}
		ab := acc[b*8 : b*8+8]
		ab[0], ab[1], ab[2], ab[3], ab[4], ab[5], ab[6], ab[7] = a0, a1, a2, a3, a4, a5, a6, a7
	}
}

// dotRow is the row kernel in use: dotRowGo, or a vector kernel where the
// build and the CPU allow one (simd_amd64.go).
var dotRow = dotRowGo

// gemmRowsGo computes out[i,:] = requant(biasEff + W·x[i,:]) for rows
// consecutive input rows of length p.k (plain Go); acc is scratch.
func gemmRowsGo(p *packedGEMM, x []int8, rows int, biasEff, acc []int32, rq *kernels.Requant, out []int8) {
	n, k := p.n, p.k
	for i := 0; i < rows; i++ {
		dotRowGo(p, x[i*k:(i+1)*k], biasEff, acc)
		requantRow(rq, acc, out[i*n:(i+1)*n])
	}
}

// gemmRows is the GEMM kernel in use.
var gemmRows = gemmRowsGo

// requantRow writes out[n] = requant(acc[n]) for n < len(out).
func requantRow(rq *kernels.Requant, acc []int32, out []int8) {
	if rq.Mode == kernels.XNNPack {
		zp := rq.ZP
		lo, hi := float32(rq.Min-zp), float32(rq.Max-zp)
		if len(rq.Scale) == 1 {
			s := rq.Scale[0]
			for i := range out {
				out[i] = int8(roundEven(min(max(float32(acc[i])*s, lo), hi)) + zp)
			}
			return
		}
		sc := rq.Scale[:len(out)]
		for i := range out {
			out[i] = int8(roundEven(min(max(float32(acc[i])*sc[i], lo), hi)) + zp)
		}
		return
	}
	c := 0
	for i := range out {
		if len(rq.Mult) > 1 {
			c = i
		}
		v := kernels.MultiplyByQuantizedMultiplier(acc[i], rq.Mult[c], rq.Shift[c]) + rq.ZP
		out[i] = int8(min(max(v, rq.Min), rq.Max))
	}
}

// roundEven rounds |f| < 2^22 to the nearest integer, ties to even, by
// adding 1.5*2^23 in float32 (XNNPACK's magic-bias trick).
func roundEven(f float32) int32 {
	const magic = 12582912.0
	return int32(math.Float32bits(f+magic)) - 0x4B400000
}

// packedFC holds FULLY_CONNECTED weights packed for the GEMM kernels.
type packedFC struct {
	g   *packedGEMM
	wZP int32
	ref []int8 // original weights (used when wZP != 0)
}

func packFC(w []int8, outN, inDim int, wZP int32) *packedFC {
	return &packedFC{g: packGEMM(w, outN, inDim), wZP: wZP, ref: w}
}

// fcState is the per-interpreter scratch of a FULLY_CONNECTED op.
type fcState struct {
	biasEff []int32
	acc     []int32
}

func fcInt8(p *packedFC, st *fcState, batch int, x []int8, inZP int32, bias []int32, rq *kernels.Requant, out []int8) {
	if p.wZP != 0 {
		kernels.FullyConnectedInt8(batch, p.g.k, p.g.n, x, inZP, p.ref, p.wZP, bias, rq, out)
		return
	}
	gemmRows(p.g, x, batch, st.biasEff, st.acc, rq, out)
}

// packedConv holds CONV_2D / DEPTHWISE_CONV_2D filters packed for the fast
// kernels.
type packedConv struct {
	g     *packedGEMM // CONV_2D: [OC, KH*KW*IC]
	dw    []int32     // DEPTHWISE_CONV_2D: [KH*KW][OC] widened
	dwSum []int32
	// dw16 packs DepthMultiplier-1 filters for the 16-channel vector kernel:
	// per block of 16 channels and pair of taps (t0,t1), 16 int16 for
	// channels {0-3,8-11} then 16 for {4-7,12-15}, each as w[t0],w[t1].
	dw16 []int16
}

// dw16Channel maps lane j (0..7) of the low (hi=false) or high half of a
// 16-channel block to its channel offset.
func dw16Channel(j int, hi bool) int {
	c := j
	if j >= 4 {
		c = j + 4
	}
	if hi {
		c += 4
	}
	return c
}

func packConv(depthwise bool, w []int8, s kernels.ConvShape) *packedConv {
	if depthwise && s.InC == 1 {
		// One input channel: a depthwise convolution is a convolution with
		// K = KH*KW; transpose [1,KH,KW,OC] to [OC,KH*KW] and use the GEMM.
		taps := s.KH * s.KW
		t := make([]int8, len(w))
		for i, v := range w {
			t[(i%s.OutC)*taps+i/s.OutC] = v
		}
		return &packedConv{g: packGEMM(t, s.OutC, taps)}
	}
	if depthwise {
		p := &packedConv{dw: make([]int32, len(w)), dwSum: make([]int32, s.OutC)}
		for i, v := range w {
			p.dw[i] = int32(v)
			p.dwSum[i%s.OutC] += int32(v)
		}
		if s.DepthMultiplier == 1 {
			C, taps := s.OutC, s.KH*s.KW
			cb, t2 := (C+15)/16, (taps+1)/2
			p.dw16 = make([]int16, cb*t2*32)
			for blk := 0; blk < cb; blk++ {
				for tp := 0; tp < t2; tp++ {
					for half := 0; half < 2; half++ {
						for j := 0; j < 8; j++ {
							ch := blk*16 + dw16Channel(j, half == 1)
							if C == 8 {
								ch %= 8 // lanes 8-15 repeat channels 0-7: two pixels per vector
							}
							for k := 0; k < 2; k++ {
								t := 2*tp + k
								if ch < C && t < taps {
									p.dw16[((blk*t2+tp)*2+half)*16+2*j+k] = int16(w[t*C+ch])
								}
							}
						}
					}
				}
			}
		}
		return p
	}
	return &packedConv{g: packGEMM(w, s.OutC, s.KH*s.KW*s.InC)}
}

// convState is the per-interpreter scratch of a convolution.
type convState struct {
	biasEff []int32
	acc     []int32
	rows    []int8  // im2col rows (a chunk of output pixels)
	dwAcc   []int32 // depthwise accumulators for one output pixel
	// Depthwise: the input copied into an image padded with zp_in, so every
	// tap is in bounds and zp_in folds into biasEff.
	padded     []int8
	padH, padW int
	// For the 16-channel depthwise kernel: tap offsets in the padded image
	// (an even count; a phantom last tap repeats the previous one with zero
	// weights), and bias and scales in the kernel's lane order.
	tapOff               []int
	rowAcc               []int32    // one input channel: accumulators of an output row
	scale8               [8]float32 // one input channel, per-tensor scale: the scale repeated
	dwRow                []int32    // 16-channel depthwise: accumulators of an output row
	dwBiasLo, dwBiasHi   []int32
	dwScaleLo, dwScaleHi []float32
}

// prepareDW16 derives the lane-ordered bias and scales of the 16-channel
// depthwise kernel.
func (st *convState) prepareDW16(s kernels.ConvShape, rq *kernels.Requant) {
	C := s.OutC
	cb := (C + 15) / 16
	st.dwBiasLo, st.dwBiasHi = make([]int32, cb*8), make([]int32, cb*8)
	st.dwScaleLo, st.dwScaleHi = make([]float32, cb*8), make([]float32, cb*8)
	for blk := 0; blk < cb; blk++ {
		for j := 0; j < 8; j++ {
			for half := 0; half < 2; half++ {
				ch := blk*16 + dw16Channel(j, half == 1)
				if C == 8 {
					ch %= 8
				}
				var bias int32
				var sc float32
				if ch < C {
					bias = st.biasEff[ch]
					sc = rq.Scale[0]
					if len(rq.Scale) > 1 {
						sc = rq.Scale[ch]
					}
				}
				if half == 0 {
					st.dwBiasLo[blk*8+j], st.dwScaleLo[blk*8+j] = bias, sc
				} else {
					st.dwBiasHi[blk*8+j], st.dwScaleHi[blk*8+j] = bias, sc
				}
			}
		}
	}
}

func newConvState(p *packedConv, s kernels.ConvShape, bias []int32, inZP int32) *convState {
	st := &convState{}
	if p.g != nil {
		st.biasEff = p.g.biasEff(bias, inZP)
		st.acc = p.g.newAcc()
		if pointwise(s) {
			return st
		}
		st.rows = make([]int8, im2colChunk*p.g.k)
		if s.InC == 1 {
			st.rowAcc = make([]int32, s.OutW*8)
		}
	} else {
		st.dwAcc = make([]int32, s.OutC)
		st.biasEff = make([]int32, s.OutC)
		for c := range st.biasEff {
			if bias != nil {
				st.biasEff[c] = bias[c]
			}
			st.biasEff[c] -= inZP * p.dwSum[c]
		}
	}
	st.padH = max((s.OutH-1)*s.StrideH+(s.KH-1)*s.DilH+1, 0)
	st.padW = max((s.OutW-1)*s.StrideW+(s.KW-1)*s.DilW+1, 0)
	// 16 spare bytes let vector kernels load 16 at the last pixel.
	st.padded = make([]int8, s.Batch*st.padH*st.padW*s.InC+16)
	for i := range st.padded {
		st.padded[i] = int8(inZP)
	}
	taps := s.KH * s.KW
	for t := 0; t < taps; t++ {
		st.tapOff = append(st.tapOff, ((t/s.KW)*s.DilH*st.padW+(t%s.KW)*s.DilW)*s.InC)
	}
	if taps%2 == 1 {
		st.tapOff = append(st.tapOff, st.tapOff[taps-1])
	}
	if p.dw16 != nil {
		st.dwRow = make([]int32, s.OutW*16)
	}
	return st
}

// padInput copies x into st.padded (whose border already holds zp_in).
func (st *convState) padInput(s kernels.ConvShape, x []int8) {
	ic := s.InC
	for b := 0; b < s.Batch; b++ {
		for iy := 0; iy < s.InH; iy++ {
			py := iy + s.PadTop
			if py >= st.padH {
				break
			}
			n := min(s.InW, st.padW-s.PadLeft) * ic
			if n <= 0 {
				continue
			}
			dst := ((b*st.padH+py)*st.padW + s.PadLeft) * ic
			src := (b*s.InH + iy) * s.InW * ic
			copy(st.padded[dst:dst+n], x[src:src+n])
		}
	}
}

// pointwise reports whether the convolution is a plain 1x1 GEMM over pixels.
func pointwise(s kernels.ConvShape) bool {
	return s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.PadTop == 0 && s.PadLeft == 0 &&
		s.OutH == s.InH && s.OutW == s.InW
}

func convInt8(p *packedConv, st *convState, s kernels.ConvShape, x []int8, inZP int32, rq *kernels.Requant, out []int8) {
	oc := s.OutC
	if pointwise(s) {
		gemmRows(p.g, x, s.Batch*s.InH*s.InW, st.biasEff, st.acc, rq, out)
		return
	}
	// im2col a chunk of output pixels at a time from the image padded with
	// zp_in, then one GEMM call over the chunk.
	st.padInput(s, x)
	if s.InC == 1 && conv1 != nil && rq.Mode == kernels.XNNPack {
		conv1(p.g, st, s, rq, out)
		return
	}
	k, ic, taps := p.g.k, s.InC, s.KH*s.KW
	tapOff := st.tapOff[:taps]
	total := s.Batch * s.OutH * s.OutW
	pix := 0
	for first := 0; first < total; first += im2colChunk {
		rows := min(im2colChunk, total-first)
		for r := 0; r < rows; r++ {
			b, oy, ox := pix/(s.OutH*s.OutW), (pix/s.OutW)%s.OutH, pix%s.OutW
			pix++
			base := ((b*st.padH+oy*s.StrideH)*st.padW + ox*s.StrideW) * ic
			row := st.rows[r*k : (r+1)*k]
			if ic == 1 {
				src := st.padded[base:]
				for t, off := range tapOff {
					row[t] = src[off]
				}
				continue
			}
			for t, off := range tapOff {
				copy(row[t*ic:(t+1)*ic], st.padded[base+off:])
			}
		}
		gemmRows(p.g, st.rows[:rows*k], rows, st.biasEff, st.acc, rq, out[first*oc:(first+rows)*oc])
	}
}

// conv1 is the direct kernel for one input channel in XNNPack mode (nil
// without one): it reads the padded image in place of im2col rows.
var conv1 func(p *packedGEMM, st *convState, s kernels.ConvShape, rq *kernels.Requant, out []int8)

// im2colChunk is the number of output pixels gathered per GEMM call.
const im2colChunk = 64

func depthwiseInt8(p *packedConv, st *convState, s kernels.ConvShape, x []int8, inZP int32, rq *kernels.Requant, out []int8) {
	if p.g != nil {
		convInt8(p, st, s, x, inZP, rq, out)
		return
	}
	st.padInput(s, x)
	if depthwise16 != nil && p.dw16 != nil && rq.Mode == kernels.XNNPack {
		if st.dwBiasLo == nil {
			st.prepareDW16(s, rq)
		}
		depthwise16(p, st, s, rq, out)
		return
	}
	if s.DepthMultiplier == 1 || s.InC == 1 {
		depthwisePadded(p, st, s, rq, out)
		return
	}
	depthwisePaddedGo(p, st, s, rq, out)
}

// depthwisePaddedGo runs DEPTHWISE_CONV_2D over the padded image (plain Go).
func depthwisePaddedGo(p *packedConv, st *convState, s kernels.ConvShape, rq *kernels.Requant, out []int8) {
	oc, ic, m := s.OutC, s.InC, s.DepthMultiplier
	acc := st.dwAcc[:oc]
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				copy(acc, st.biasEff)
				for ky := 0; ky < s.KH; ky++ {
					py := oy*s.StrideH + ky*s.DilH
					for kx := 0; kx < s.KW; kx++ {
						px := ox*s.StrideW + kx*s.DilW
						xp := st.padded[((b*st.padH+py)*st.padW+px)*ic:][:ic]
						wp := p.dw[(ky*s.KW+kx)*oc:][:oc]
						if m == 1 {
							for c := range acc {
								acc[c] += wp[c] * int32(xp[c])
							}
						} else {
							for c := range acc {
								acc[c] += wp[c] * int32(xp[c/m])
							}
						}
					}
				}
				o := ((b*s.OutH+oy)*s.OutW + ox) * oc
				requantRow(rq, acc, out[o:o+oc])
			}
		}
	}
}

// depthwise16 is the 16-channel vector depthwise kernel (nil without one).
var depthwise16 func(p *packedConv, st *convState, s kernels.ConvShape, rq *kernels.Requant, out []int8)

// depthwisePadded is the depthwise kernel in use for DepthMultiplier 1 or a
// single input channel.
var depthwisePadded = depthwisePaddedGo
