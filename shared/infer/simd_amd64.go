//go:build goexperiment.simd && amd64

package infer

import (
	"simd/archsimd"
	"unsafe"

	"github.com/megapipe/mega/shared/infer/kernels"
)

// simdKernels reports whether the vector kernels are in use (set by
// applyKernelPath).
var simdKernels bool

// narrowAVX512 allows the AVX-512 narrowing instructions (VPMOVDB, VPMOVSWB)
// where the CPU has them; otherwise results are narrowed through memory.
// Tests switch it off to cover AVX2-only machines.
var narrowAVX512 bool

// cpuKernelPaths lists the paths this CPU can run, slowest first.
func cpuKernelPaths() []KernelPath {
	p := []KernelPath{KernelsGo}
	if !archsimd.X86.AVX2() || !archsimd.X86.FMA() {
		return p
	}
	p = append(p, KernelsAVX2)
	if !archsimd.X86.AVX512() {
		return p
	}
	p = append(p, KernelsAVX512)
	if archsimd.X86.AVX512VNNI() {
		p = append(p, KernelsVNNI)
	}
	return p
}

// applyKernelPath installs the kernels of an available path.
func applyKernelPath(p KernelPath) {
	simdKernels = p != KernelsGo
	narrowAVX512 = p == KernelsAVX512 || p == KernelsVNNI
	useVNNI = p == KernelsVNNI
	packQuads = useVNNI
	if !simdKernels {
		dotRow = dotRowGo
		gemmRows = gemmRowsGo
		depthwisePadded = depthwisePaddedGo
		depthwise16 = nil
		conv1 = nil
		floatGEMMRows = nil
		floatDepthwise = nil
		return
	}
	floatGEMMRows = floatGEMMRowsAVX2
	floatDepthwise = floatDepthwiseAVX2
	dotRow = dotRowSIMD
	gemmRows = gemmRowsSIMD
	depthwisePadded = depthwisePaddedSIMD
	depthwise16 = depthwise16SIMD
	conv1 = conv1SIMD
}

// pairAt packs int8 inputs k and k+1 as two int16 lanes of one int32.
func pairAt(row []int8, k int) int32 {
	return int32(uint16(int16(row[k]))) | int32(row[k+1])<<16
}

// dotRowSIMD is dotRowGo with AVX2: one row against every block.
func dotRowSIMD(p *packedGEMM, row []int8, biasEff, acc []int32) {
	k := p.k
	if k == 0 {
		for b := 0; b < p.nb; b++ {
			archsimd.LoadInt32x8Slice(biasEff[b*8:]).StoreSlice(acc[b*8:])
		}
		return
	}
	_ = row[k-1]
	rp := unsafe.Pointer(&row[0])
	wp := unsafe.Pointer(&p.w[0])
	for b := 0; b < p.nb; b++ {
		base, stride := p.blockAt(b)
		a := archsimd.LoadInt32x8Slice(biasEff[b*8:])
		for q := 0; q < p.k2; q++ {
			x := archsimd.BroadcastInt32x8(pairAtUnsafe(rp, q, k)).AsInt16x16()
			a = a.Add(loadW(wp, base+q*stride).DotProductPairs(x))
		}
		a.StoreSlice(acc[b*8:])
	}
}

// loadW loads 16 int16 at element offset off of the packed weights.
func loadW(wp unsafe.Pointer, off int) archsimd.Int16x16 {
	return archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(wp, 2*off)))
}

// pairAtUnsafe packs inputs 2q and 2q+1 of a row of length k (0 past the
// end) as two int16 lanes; the caller guarantees 2q < k.
func pairAtUnsafe(rp unsafe.Pointer, q, k int) int32 {
	lo := int32(uint16(int16(*(*int8)(unsafe.Add(rp, 2*q)))))
	if 2*q+1 >= k {
		return lo
	}
	return lo | int32(*(*int8)(unsafe.Add(rp, 2*q+1)))<<16
}

// depthwisePaddedSIMD is depthwisePaddedGo with AVX2 for DepthMultiplier 1
// (8 channels per vector) or one input channel (the input broadcast), with
// accumulators in registers across taps and vector requantization.
func depthwisePaddedSIMD(p *packedConv, st *convState, s kernels.ConvShape, rq *kernels.Requant, out []int8) {
	oc, ic := s.OutC, s.InC
	taps := s.KH * s.KW
	acc := st.dwAcc[:oc]
	vr := newVecRequant(rq)
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				o := ((b*s.OutH+oy)*s.OutW + ox) * oc
				base := (b*st.padH+oy*s.StrideH)*st.padW + ox*s.StrideW
				c := 0
				for ; c+8 <= oc; c += 8 {
					a := archsimd.LoadInt32x8Slice(st.biasEff[c:])
					for t := 0; t < taps; t++ {
						ky, kx := t/s.KW, t%s.KW
						pix := base + ky*s.DilH*st.padW + kx*s.DilW
						var xv archsimd.Int32x8
						if ic == 1 {
							xv = archsimd.BroadcastInt32x8(int32(st.padded[pix]))
						} else {
							xv = archsimd.LoadInt8x16Slice(st.padded[pix*ic+c:]).ExtendLo8ToInt32()
						}
						a = a.Add(xv.Mul(archsimd.LoadInt32x8Slice(p.dw[t*oc+c:])))
					}
					if vr.ok {
						vr.store8(a, c, out[o+c:o+c+8])
					} else {
						a.StoreSlice(acc[c:])
					}
				}
				for cc := c; cc < oc; cc++ {
					v := st.biasEff[cc]
					for t := 0; t < taps; t++ {
						ky, kx := t/s.KW, t%s.KW
						pix := base + ky*s.DilH*st.padW + kx*s.DilW
						xi := pix*ic + cc
						if ic == 1 {
							xi = pix
						}
						v += p.dw[t*oc+cc] * int32(st.padded[xi])
					}
					acc[cc] = v
				}
				if vr.ok {
					requantRange(rq, acc, out[o:o+oc], c, oc)
				} else {
					requantRow(rq, acc, out[o:o+oc])
				}
			}
		}
	}
}

// vecRequant is an XNNPACK-mode requantization in vector registers.
type vecRequant struct {
	ok      bool
	perChan bool
	scale   []float32
	scale1  archsimd.Float32x8
	lo, hi  archsimd.Float32x8
	zp      archsimd.Int32x8
}

func newVecRequant(rq *kernels.Requant) vecRequant {
	if rq.Mode != kernels.XNNPack {
		return vecRequant{}
	}
	v := vecRequant{ok: true, perChan: len(rq.Scale) > 1, scale: rq.Scale,
		lo: archsimd.BroadcastFloat32x8(float32(rq.Min - rq.ZP)), hi: archsimd.BroadcastFloat32x8(float32(rq.Max - rq.ZP)),
		zp: archsimd.BroadcastInt32x8(rq.ZP)}
	v.scale1 = archsimd.BroadcastFloat32x8(rq.Scale[0])
	return v
}

// store8 requantizes 8 accumulators of channels c..c+7 into out[:8].
func (v *vecRequant) store8(a archsimd.Int32x8, c int, out []int8) {
	sc := v.scale1
	if v.perChan {
		sc = archsimd.LoadFloat32x8Slice(v.scale[c:])
	}
	f := a.ConvertToFloat32().Mul(sc).Max(v.lo).Min(v.hi).RoundToEven()
	q := f.ConvertToInt32().Add(v.zp)
	if narrowAVX512 {
		var tmp [16]int8
		q.TruncateToInt8().Store(&tmp)
		copy(out[:8], tmp[:8])
		return
	}
	var t [8]int32
	q.Store(&t)
	out = out[:8]
	for i := range out {
		out[i] = int8(t[i])
	}
}

// requantRange requantizes acc[from:to] into out[from:to].
func requantRange(rq *kernels.Requant, acc []int32, out []int8, from, to int) {
	if from >= to {
		return
	}
	sub := *rq
	if len(rq.Scale) > 1 {
		sub.Scale = rq.Scale[from:to]
		sub.Mult = rq.Mult[from:to]
		sub.Shift = rq.Shift[from:to]
	}
	requantRow(&sub, acc[from:to], out[from:to])
}

// gemmRowsSIMD is gemmRowsGo with AVX2: two rows at a time share every
// weight load, four blocks of 8 channels (one packed stream) share every
// broadcast, and XNNPACK-mode requantization happens in registers.
func gemmRowsSIMD(p *packedGEMM, x []int8, rows int, biasEff, acc []int32, rq *kernels.Requant, out []int8) {
	vr := newVecRequant(rq)
	n, k, k2 := p.n, p.k, p.k2
	if rows == 0 || n == 0 {
		return
	}
	if !vr.ok || k == 0 {
		for i := 0; i < rows; i++ {
			dotRowSIMD(p, x[i*k:(i+1)*k], biasEff, acc)
			requantRow(rq, acc, out[i*n:(i+1)*n])
		}
		return
	}
	_ = x[rows*k-1]
	_ = out[rows*n-1]
	wp := unsafe.Pointer(&p.w[0])
	if p.nb == 2 && p.ng == 0 && k%2 == 0 {
		gemm2Rows(p, x, rows, biasEff, acc, &vr, rq, out)
		return
	}
	if rows == 1 {
		gemm1Row(p, x, biasEff, acc, &vr, rq, out)
		return
	}
	kEven := k / 2
	odd := k%2 == 1
	var ga [64]int32 // accumulators of one group for two rows (gemm4x2AVX2)
	qc := requantConsts{lo: float32(rq.Min - rq.ZP), hi: float32(rq.Max - rq.ZP), zp: rq.ZP}
	perChan := 0
	if vr.perChan {
		perChan = 1
	}
	i := 0
	for ; i+2 <= rows || (i < rows && rows >= 2); i += 2 {
		if i+2 > rows {
			// An odd row count: the last row goes with the one before it,
			// which is computed again (the same values; the output never
			// shares memory with the input) rather than by the slow
			// single-row kernel.
			i = rows - 2
		}
		r0 := unsafe.Pointer(&x[i*k])
		r1 := unsafe.Pointer(&x[(i+1)*k])
		o0 := out[i*n : (i+1)*n]
		o1 := out[(i+1)*n : (i+2)*n]
		for g := 0; g < p.ng; g++ {
			b := 4 * g
			gp := unsafe.Add(wp, 2*g*k2*64)
			if !odd && b*8+32 <= n {
				sp := &rq.Scale[0]
				if vr.perChan {
					sp = &rq.Scale[b*8]
				}
				if useVNNI && p.w8 != nil {
					gemm4x2QBUSD(unsafe.Pointer(&p.w8[g*(k/4)*128]), r0, r1, k/4, &biasEff[b*8], sp, perChan, &qc, &o0[b*8], &o1[b*8], &p.colSum[b*8])
				} else if useVNNI {
					gemm4x2QVNNI(gp, r0, r1, kEven, &biasEff[b*8], sp, perChan, &qc, &o0[b*8], &o1[b*8])
				} else {
					gemm4x2QAVX2(gp, r0, r1, kEven, &biasEff[b*8], sp, perChan, &qc, &o0[b*8], &o1[b*8])
				}
				continue
			}
			if useVNNI {
				gemm4x2VNNI(gp, r0, r1, kEven, &biasEff[b*8], &ga)
			} else {
				gemm4x2AVX2(gp, r0, r1, kEven, &biasEff[b*8], &ga)
			}
			a0 := archsimd.LoadInt32x8((*[8]int32)(ga[0:]))
			a1 := archsimd.LoadInt32x8((*[8]int32)(ga[8:]))
			a2 := archsimd.LoadInt32x8((*[8]int32)(ga[16:]))
			a3 := archsimd.LoadInt32x8((*[8]int32)(ga[24:]))
			c0 := archsimd.LoadInt32x8((*[8]int32)(ga[32:]))
			c1 := archsimd.LoadInt32x8((*[8]int32)(ga[40:]))
			c2 := archsimd.LoadInt32x8((*[8]int32)(ga[48:]))
			c3 := archsimd.LoadInt32x8((*[8]int32)(ga[56:]))
			if odd {
				xa := archsimd.BroadcastInt32x8(int32(uint16(int16(*(*int8)(unsafe.Add(r0, k-1)))))).AsInt16x16()
				xb := archsimd.BroadcastInt32x8(int32(uint16(int16(*(*int8)(unsafe.Add(r1, k-1)))))).AsInt16x16()
				qp := unsafe.Add(gp, kEven*128)
				v0 := archsimd.LoadInt16x16((*[16]int16)(qp))
				v1 := archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(qp, 32)))
				v2 := archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(qp, 64)))
				v3 := archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(qp, 96)))
				a0 = a0.Add(v0.DotProductPairs(xa))
				a1 = a1.Add(v1.DotProductPairs(xa))
				a2 = a2.Add(v2.DotProductPairs(xa))
				a3 = a3.Add(v3.DotProductPairs(xa))
				c0 = c0.Add(v0.DotProductPairs(xb))
				c1 = c1.Add(v1.DotProductPairs(xb))
				c2 = c2.Add(v2.DotProductPairs(xb))
				c3 = c3.Add(v3.DotProductPairs(xb))
			}
			c := b * 8
			if c+32 <= n {
				vr.store8(a0, c, o0[c:c+8])
				vr.store8(a1, c+8, o0[c+8:c+16])
				vr.store8(a2, c+16, o0[c+16:c+24])
				vr.store8(a3, c+24, o0[c+24:c+32])
				vr.store8(c0, c, o1[c:c+8])
				vr.store8(c1, c+8, o1[c+8:c+16])
				vr.store8(c2, c+16, o1[c+16:c+24])
				vr.store8(c3, c+24, o1[c+24:c+32])
				continue
			}
			a0.StoreSlice(acc[c:])
			a1.StoreSlice(acc[c+8:])
			a2.StoreSlice(acc[c+16:])
			a3.StoreSlice(acc[c+24:])
			requantRange(rq, acc, o0, c, n)
			c0.StoreSlice(acc[c:])
			c1.StoreSlice(acc[c+8:])
			c2.StoreSlice(acc[c+16:])
			c3.StoreSlice(acc[c+24:])
			requantRange(rq, acc, o1, c, n)
		}
		b := 4 * p.ng
		for ; b+2 <= p.nb; b += 2 {
			base0, _ := p.blockAt(b)
			base1, _ := p.blockAt(b + 1)
			gemm2x2AVX2(unsafe.Add(wp, 2*base0), unsafe.Add(wp, 2*base1), r0, r1, kEven, &biasEff[b*8], (*[32]int32)(ga[:32]))
			a0 := archsimd.LoadInt32x8((*[8]int32)(ga[0:]))
			a1 := archsimd.LoadInt32x8((*[8]int32)(ga[8:]))
			c0 := archsimd.LoadInt32x8((*[8]int32)(ga[16:]))
			c1 := archsimd.LoadInt32x8((*[8]int32)(ga[24:]))
			if odd {
				xa := archsimd.BroadcastInt32x8(int32(uint16(int16(*(*int8)(unsafe.Add(r0, k-1)))))).AsInt16x16()
				xb := archsimd.BroadcastInt32x8(int32(uint16(int16(*(*int8)(unsafe.Add(r1, k-1)))))).AsInt16x16()
				v0 := loadW(wp, base0+kEven*16)
				v1 := loadW(wp, base1+kEven*16)
				a0 = a0.Add(v0.DotProductPairs(xa))
				a1 = a1.Add(v1.DotProductPairs(xa))
				c0 = c0.Add(v0.DotProductPairs(xb))
				c1 = c1.Add(v1.DotProductPairs(xb))
			}
			c := b * 8
			if c+16 <= n {
				vr.store8(a0, c, o0[c:c+8])
				vr.store8(a1, c+8, o0[c+8:c+16])
				vr.store8(c0, c, o1[c:c+8])
				vr.store8(c1, c+8, o1[c+8:c+16])
				continue
			}
			a0.StoreSlice(acc[c:])
			a1.StoreSlice(acc[c+8:])
			requantRange(rq, acc, o0, c, n)
			c0.StoreSlice(acc[c:])
			c1.StoreSlice(acc[c+8:])
			requantRange(rq, acc, o1, c, n)
		}
		for ; b < p.nb; b++ {
			base, _ := p.blockAt(b)
			a0 := archsimd.LoadInt32x8Slice(biasEff[b*8:])
			c0 := a0
			for q := 0; q < k2; q++ {
				v0 := loadW(wp, base+q*16)
				a0 = a0.Add(v0.DotProductPairs(archsimd.BroadcastInt32x8(pairAtUnsafe(r0, q, k)).AsInt16x16()))
				c0 = c0.Add(v0.DotProductPairs(archsimd.BroadcastInt32x8(pairAtUnsafe(r1, q, k)).AsInt16x16()))
			}
			c := b * 8
			if c+8 <= n {
				vr.store8(a0, c, o0[c:c+8])
				vr.store8(c0, c, o1[c:c+8])
			} else {
				a0.StoreSlice(acc[c:])
				requantRange(rq, acc, o0, c, n)
				c0.StoreSlice(acc[c:])
				requantRange(rq, acc, o1, c, n)
			}
		}
	}
	for ; i < rows; i++ {
		dotRowSIMD(p, x[i*k:(i+1)*k], biasEff, acc)
		requantRow(rq, acc, out[i*n:(i+1)*n])
	}
}

// gemm1Row is gemmRowsSIMD for one row (a FULLY_CONNECTED layer at batch
// 1) in XNNPack mode: each whole group of 32 channels (K even) runs the
// fused two-row assembly with the row given twice, the second copy's
// outputs going to a spare buffer (four independent accumulator chains per
// row, against one in dotRowSIMD); the remaining blocks run four at a time
// in archsimd and are requantized in registers.
func gemm1Row(p *packedGEMM, x []int8, biasEff, acc []int32, vr *vecRequant, rq *kernels.Requant, out []int8) {
	n, k, k2 := p.n, p.k, p.k2
	var spare [32]int8
	r0 := unsafe.Pointer(&x[0])
	wp := unsafe.Pointer(&p.w[0])
	out = out[:n]
	b := 0
	if k%2 == 0 {
		qc := requantConsts{lo: float32(rq.Min - rq.ZP), hi: float32(rq.Max - rq.ZP), zp: rq.ZP}
		perChan := 0
		if vr.perChan {
			perChan = 1
		}
		for g := 0; g < p.ng && 32*g+32 <= n; g++ {
			b = 4 * g
			sp := &rq.Scale[0]
			if vr.perChan {
				sp = &rq.Scale[b*8]
			}
			gp := unsafe.Add(wp, 2*g*k2*64)
			switch {
			case useVNNI && p.w8 != nil:
				gemm4x2QBUSD(unsafe.Pointer(&p.w8[g*(k/4)*128]), r0, r0, k/4, &biasEff[b*8], sp, perChan, &qc, &out[b*8], &spare[0], &p.colSum[b*8])
			case useVNNI:
				gemm4x2QVNNI(gp, r0, r0, k/2, &biasEff[b*8], sp, perChan, &qc, &out[b*8], &spare[0])
			default:
				gemm4x2QAVX2(gp, r0, r0, k/2, &biasEff[b*8], sp, perChan, &qc, &out[b*8], &spare[0])
			}
			b += 4
		}
	}
	for ; b < p.nb; b++ {
		base, stride := p.blockAt(b)
		a := archsimd.LoadInt32x8Slice(biasEff[b*8:])
		for q := 0; q < k2; q++ {
			a = a.Add(loadW(wp, base+q*stride).DotProductPairs(archsimd.BroadcastInt32x8(pairAtUnsafe(r0, q, k)).AsInt16x16()))
		}
		c := b * 8
		if c+8 <= n {
			vr.store8(a, c, out[c:c+8])
			continue
		}
		a.StoreSlice(acc[c:])
		requantRange(rq, acc, out, c, n)
	}
}

// gemm4x2AVX2 is the GEMM's inner loop in assembly (gemm_amd64.s): Go's
// register allocator spills two of the eight accumulators of the archsimd
// version every step, and rebuilds each broadcast pair with scalar code.
//
//go:noescape
func gemm4x2AVX2(w, r0, r1 unsafe.Pointer, pairs int, bias *int32, acc *[64]int32)

// conv1Row8AVX2 accumulates one output row of a one-input-channel
// convolution with at most 8 output channels (gemm_amd64.s).
//
//go:noescape
func conv1Row8AVX2(src unsafe.Pointer, sw, npix int, taps *int, pairs int, w unsafe.Pointer, bias *int32, acc *int32)

// dw16RowAVX2 accumulates one output row of one 16-channel block of the
// depthwise kernel (gemm_amd64.s).
//
//go:noescape
func dw16RowAVX2(src unsafe.Pointer, step, npix int, taps *int, pairs int, w unsafe.Pointer, biasLo, biasHi *int32, acc *int32)

// gemm2RowsAVX2 accumulates rows input rows against two blocks of 8
// channels (gemm_amd64.s).
//
//go:noescape
func gemm2RowsAVX2(w0, w1, x unsafe.Pointer, k, rows, pairs int, bias *int32, acc *int32)

// gemm2Rows is gemmRowsSIMD for 9 to 16 output channels and an even K:
// the assembly accumulates up to 64 rows per call into a stack buffer,
// which is then requantized.
func gemm2Rows(p *packedGEMM, x []int8, rows int, biasEff, acc []int32, vr *vecRequant, rq *kernels.Requant, out []int8) {
	n, k := p.n, p.k
	w0 := unsafe.Pointer(&p.w[0])
	w1 := unsafe.Add(w0, p.k2*32)
	if n == 16 {
		qc := requantConsts{lo: float32(rq.Min - rq.ZP), hi: float32(rq.Max - rq.ZP), zp: rq.ZP}
		perChan := 0
		if vr.perChan {
			perChan = 1
		}
		_ = out[rows*16-1]
		gemm2RowsQAVX2(w0, w1, unsafe.Pointer(&x[0]), k, rows, p.k2, &biasEff[0], &rq.Scale[0], perChan, &qc, &out[0])
		return
	}
	var ra [64 * 16]int32
	for first := 0; first < rows; first += 64 {
		m := min(64, rows-first)
		gemm2RowsAVX2(w0, w1, unsafe.Pointer(&x[first*k]), k, m, p.k2, &biasEff[0], &ra[0])
		for r := 0; r < m; r++ {
			a0 := archsimd.LoadInt32x8((*[8]int32)(ra[16*r:]))
			a1 := archsimd.LoadInt32x8((*[8]int32)(ra[16*r+8:]))
			o := out[(first+r)*n : (first+r+1)*n]
			if n == 16 {
				vr.store8(a0, 0, o[0:8])
				vr.store8(a1, 8, o[8:16])
				continue
			}
			a0.StoreSlice(acc[0:])
			a1.StoreSlice(acc[8:])
			requantRange(rq, acc, o, 0, n)
		}
	}
}

// requantConsts are the XNNPack requantization constants the fused
// assembly kernels read: the clamp bounds minus the zero point, and the zero
// point.
type requantConsts struct {
	lo, hi float32
	zp     int32
}

// gemm4x2QAVX2 is gemm4x2AVX2 with the requantization fused: it writes 32
// int8 outputs of each row (gemm_amd64.s).
//
//go:noescape
func gemm4x2QAVX2(w, r0, r1 unsafe.Pointer, pairs int, bias *int32, scale *float32, perChan int, q *requantConsts, o0, o1 *int8)

// gemm4x2QVNNI is gemm4x2QAVX2 with AVX512-VNNI's VPDPWSSD (gemm_amd64.s).
//
//go:noescape
func gemm4x2QVNNI(w, r0, r1 unsafe.Pointer, pairs int, bias *int32, scale *float32, perChan int, q *requantConsts, o0, o1 *int8)

// gemm2RowsQAVX2 is gemm2RowsAVX2 for 16 channels with the requantization
// fused: it writes 16 int8 per row (gemm_amd64.s).
//
//go:noescape
func gemm2RowsQAVX2(w0, w1, x unsafe.Pointer, k, rows, pairs int, bias *int32, scale *float32, perChan int, q *requantConsts, out *int8)

// dw16RowQAVX2 is dw16RowAVX2 with the requantization fused: it writes 16
// int8 per pixel (gemm_amd64.s).
//
//go:noescape
func dw16RowQAVX2(src unsafe.Pointer, step, npix int, taps *int, pairs int, w unsafe.Pointer, biasLo, biasHi *int32, scaleLo, scaleHi *float32, q *requantConsts, out unsafe.Pointer, outStep int)

// conv1Row8QAVX2 is conv1Row8AVX2 for 8 channels with the requantization
// fused (gemm_amd64.s).
//
//go:noescape
func conv1Row8QAVX2(src unsafe.Pointer, sw, npix int, taps *int, pairs int, w unsafe.Pointer, bias *int32, scale *float32, q *requantConsts, out *int8)

// gemm4x2QBUSD is gemm4x2QVNNI on int8 quads with VPDPBUSD, for K a
// multiple of 4 (gemm_amd64.s).
//
//go:noescape
func gemm4x2QBUSD(w, r0, r1 unsafe.Pointer, quads int, bias *int32, scale *float32, perChan int, q *requantConsts, o0, o1 *int8, colSum *int32)

// gemm4x2VNNI is gemm4x2AVX2 with AVX512-VNNI's VPDPWSSD (gemm_amd64.s).
//
//go:noescape
func gemm4x2VNNI(w, r0, r1 unsafe.Pointer, pairs int, bias *int32, acc *[64]int32)

// useVNNI selects gemm4x2VNNI on the vnni path (tests switch it off to
// cover AVX2-only machines). A branch, not a function variable: an indirect
// call would make the accumulators escape to the heap.
var useVNNI bool

// gemm2x2AVX2 is the same for two blocks past the last group (gemm_amd64.s).
//
//go:noescape
func gemm2x2AVX2(w0, w1, r0, r1 unsafe.Pointer, pairs int, bias *int32, acc *[32]int32)

// depthwise16SIMD runs a DepthMultiplier-1 DEPTHWISE_CONV_2D in XNNPack
// mode 16 channels at a time: the sign-extended inputs of two taps are
// interleaved (VPUNPCKLWD/HWD) and multiplied by the packed tap pairs with
// VPMADDWD, so each instruction does 16 multiply-accumulates. Accumulators
// hold channels {0-3,8-11} and {4-7,12-15}; VPACKSSDW restores the order.
func depthwise16SIMD(p *packedConv, st *convState, s kernels.ConvShape, rq *kernels.Requant, out []int8) {
	C := s.OutC
	if s.Batch*s.OutH*s.OutW*C == 0 {
		return
	}
	cb := (C + 15) / 16
	t2 := len(st.tapOff) / 2
	zp := archsimd.BroadcastInt32x8(rq.ZP)
	lo, hi := archsimd.BroadcastFloat32x8(float32(rq.Min-rq.ZP)), archsimd.BroadcastFloat32x8(float32(rq.Max-rq.ZP))
	// Bounds: the padded image has 16 spare bytes, so a 16-byte load at any
	// pixel's channel block stays inside; weights, biases and scales are
	// sized for cb blocks.
	pp := unsafe.Pointer(&st.padded[0])
	wp := unsafe.Pointer(&p.dw16[0])
	// With 8 channels and horizontal stride 1, the 16 bytes at a tap hold
	// that tap for two neighbouring output pixels: one vector does both
	// (the weights repeat in lanes 8-15).
	step := 1
	if C == 8 && s.StrideW == 1 {
		step = 2
	}
	tapOff := st.tapOff
	_ = st.dwBiasLo[cb*8-1]
	_ = st.dwBiasHi[cb*8-1]
	_ = st.dwScaleLo[cb*8-1]
	_ = st.dwScaleHi[cb*8-1]
	_ = out[s.Batch*s.OutH*s.OutW*C-1]
	// Assembly accumulates a row of pixels per block, then the row is
	// requantized here.
	npix := (s.OutW + step - 1) / step
	ra := st.dwRow[:npix*16]
	pixStep := step * s.StrideW * C
	qc := requantConsts{lo: float32(rq.Min - rq.ZP), hi: float32(rq.Max - rq.ZP), zp: rq.ZP}
	// nFull pixels (per row and block) have 16 outputs inside the block:
	// all of them when C is a multiple of 16, all but an odd last pixel
	// with two pixels of 8 channels per vector, none otherwise (the last
	// block would overrun the pixel).
	nFull := 0
	switch {
	case step == 2:
		nFull = s.OutW / 2
	case C%16 == 0:
		nFull = npix
	}
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			rowBase := (b*st.padH + oy*s.StrideH) * st.padW * C
			rowOut := (b*s.OutH + oy) * s.OutW * C
			for blk := 0; blk < cb; blk++ {
				c := blk * 16
				src := unsafe.Add(pp, rowBase+c)
				wb := unsafe.Add(wp, 2*blk*t2*32)
				j0 := 0
				if nFull > 0 {
					// Pixels whose 16 outputs are all in this block: the
					// assembly requantizes and stores them.
					dw16RowQAVX2(src, pixStep, nFull, &tapOff[0], t2, wb, &st.dwBiasLo[blk*8], &st.dwBiasHi[blk*8],
						&st.dwScaleLo[blk*8], &st.dwScaleHi[blk*8], &qc, unsafe.Pointer(&out[rowOut+c]), step*C)
					j0 = nFull
				}
				if j0 == npix {
					continue
				}
				dw16RowAVX2(unsafe.Add(src, j0*pixStep), pixStep, npix-j0, &tapOff[0], t2,
					wb, &st.dwBiasLo[blk*8], &st.dwBiasHi[blk*8], &ra[0])
				sLo := archsimd.LoadFloat32x8((*[8]float32)(st.dwScaleLo[blk*8:]))
				sHi := archsimd.LoadFloat32x8((*[8]float32)(st.dwScaleHi[blk*8:]))
				for j := j0; j < npix; j++ {
					ox := j * step
					aLo := archsimd.LoadInt32x8((*[8]int32)(ra[16*(j-j0):]))
					aHi := archsimd.LoadInt32x8((*[8]int32)(ra[16*(j-j0)+8:]))
					fLo := aLo.ConvertToFloat32().Mul(sLo).Max(lo).Min(hi).RoundToEven()
					fHi := aHi.ConvertToFloat32().Mul(sHi).Max(lo).Min(hi).RoundToEven()
					q := fLo.ConvertToInt32().Add(zp).SaturateToInt16ConcatGrouped(fHi.ConvertToInt32().Add(zp))
					o := rowOut + ox*C
					n := min(16, C-c)
					if step == 2 {
						n = min(16, (s.OutW-ox)*8)
					}
					if narrowAVX512 && n == 16 {
						q.SaturateToInt8().Store((*[16]int8)(out[o+c:]))
						continue
					}
					var t [16]int16
					q.Store(&t)
					dst := out[o+c : o+c+n]
					for i := range dst {
						dst[i] = int8(t[i])
					}
				}
			}
		}
	}
}

// conv1SIMD runs a convolution with one input channel (CONV_2D, or
// DEPTHWISE_CONV_2D with one input channel, packed as a GEMM with K = taps)
// in XNNPack mode straight from the zero-point-padded image, without im2col:
// two output pixels at a time share each weight row, and the pair of taps
// 2q, 2q+1 of a pixel is broadcast for VPMADDWD against 8 output channels.
func conv1SIMD(p *packedGEMM, st *convState, s kernels.ConvShape, rq *kernels.Requant, out []int8) {
	n, k2 := p.n, p.k2
	total := s.Batch * s.OutH * s.OutW
	if total*n == 0 {
		return
	}
	vr := newVecRequant(rq)
	// tapOff has an even length (a phantom tap with zero weight repeats the
	// last one), 2*k2 entries, each inside the padded image for every output
	// pixel by the construction of padH and padW.
	tapOff := st.tapOff[:2*k2]
	pp := unsafe.Pointer(&st.padded[0])
	wp := unsafe.Pointer(&p.w[0])
	biasEff, acc := st.biasEff[:p.nb*8], st.acc[:p.nb*8]
	_ = out[total*n-1]
	sw := s.StrideW
	if p.nb == 1 && len(st.rowAcc) >= s.OutW*8 {
		// At most 8 channels: the assembly kernel accumulates a whole
		// output row, then the row is requantized.
		ra := st.rowAcc[:s.OutW*8]
		if n == 8 {
			// The assembly also requantizes (8 per-channel scales).
			qc := requantConsts{lo: float32(rq.Min - rq.ZP), hi: float32(rq.Max - rq.ZP), zp: rq.ZP}
			sc := rq.Scale
			if !vr.perChan {
				sc = st.scale8[:]
				for i := range sc {
					sc[i] = rq.Scale[0]
				}
			}
			for b := 0; b < s.Batch; b++ {
				for oy := 0; oy < s.OutH; oy++ {
					row := unsafe.Add(pp, (b*st.padH+oy*s.StrideH)*st.padW)
					o := (b*s.OutH + oy) * s.OutW * 8
					conv1Row8QAVX2(row, sw, s.OutW, &tapOff[0], k2, wp, &biasEff[0], &sc[0], &qc, &out[o])
				}
			}
			return
		}
		for b := 0; b < s.Batch; b++ {
			for oy := 0; oy < s.OutH; oy++ {
				row := unsafe.Add(pp, (b*st.padH+oy*s.StrideH)*st.padW)
				conv1Row8AVX2(row, sw, s.OutW, &tapOff[0], k2, wp, &biasEff[0], &ra[0])
				o := out[(b*s.OutH+oy)*s.OutW*n : (b*s.OutH+oy+1)*s.OutW*n]
				for ox := 0; ox < s.OutW; ox++ {
					a := archsimd.LoadInt32x8((*[8]int32)(ra[ox*8:]))
					if n == 8 {
						vr.store8(a, 0, o[ox*8:ox*8+8])
						continue
					}
					a.StoreSlice(acc)
					requantRange(rq, acc, o[ox*n:(ox+1)*n], 0, n)
				}
			}
		}
		return
	}
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			row := unsafe.Add(pp, (b*st.padH+oy*s.StrideH)*st.padW)
			o := (b*s.OutH + oy) * s.OutW * n
			ox := 0
			for ; ox+2 <= s.OutW; ox += 2 {
				px0 := unsafe.Add(row, ox*sw)
				px1 := unsafe.Add(px0, sw)
				o0 := out[o+ox*n : o+(ox+1)*n]
				o1 := out[o+(ox+1)*n : o+(ox+2)*n]
				for blk := 0; blk < p.nb; blk++ {
					base, stride := p.blockAt(blk)
					a := archsimd.LoadInt32x8Slice(biasEff[blk*8:])
					c := a
					for q := 0; q < k2; q++ {
						t0, t1 := tapOff[2*q], tapOff[2*q+1]
						xa := archsimd.BroadcastInt32x8(int32(uint16(int16(*(*int8)(unsafe.Add(px0, t0))))) | int32(*(*int8)(unsafe.Add(px0, t1)))<<16).AsInt16x16()
						xb := archsimd.BroadcastInt32x8(int32(uint16(int16(*(*int8)(unsafe.Add(px1, t0))))) | int32(*(*int8)(unsafe.Add(px1, t1)))<<16).AsInt16x16()
						v := loadW(wp, base+q*stride)
						a = a.Add(v.DotProductPairs(xa))
						c = c.Add(v.DotProductPairs(xb))
					}
					ch := blk * 8
					if ch+8 <= n {
						vr.store8(a, ch, o0[ch:ch+8])
						vr.store8(c, ch, o1[ch:ch+8])
						continue
					}
					a.StoreSlice(acc[ch:])
					requantRange(rq, acc, o0, ch, n)
					c.StoreSlice(acc[ch:])
					requantRange(rq, acc, o1, ch, n)
				}
			}
			if ox < s.OutW {
				px0 := unsafe.Add(row, ox*sw)
				o0 := out[o+ox*n : o+(ox+1)*n]
				for blk := 0; blk < p.nb; blk++ {
					base, stride := p.blockAt(blk)
					a := archsimd.LoadInt32x8Slice(biasEff[blk*8:])
					for q := 0; q < k2; q++ {
						t0, t1 := tapOff[2*q], tapOff[2*q+1]
						xa := archsimd.BroadcastInt32x8(int32(uint16(int16(*(*int8)(unsafe.Add(px0, t0))))) | int32(*(*int8)(unsafe.Add(px0, t1)))<<16).AsInt16x16()
						a = a.Add(loadW(wp, base+q*stride).DotProductPairs(xa))
					}
					ch := blk * 8
					if ch+8 <= n {
						vr.store8(a, ch, o0[ch:ch+8])
						continue
					}
					a.StoreSlice(acc[ch:])
					requantRange(rq, acc, o0, ch, n)
				}
			}
		}
	}
}
