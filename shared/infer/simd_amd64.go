//go:build goexperiment.simd && amd64

package infer

import (
	"simd/archsimd"
)

// simdKernels reports whether the vector kernels are in use.
var simdKernels = archsimd.X86.AVX2()

func init() {
	if simdKernels {
		dotRow = dotRowSIMD
		dwTap = dwTapSIMD
	}
}

// pairAt packs int8 inputs k and k+1 as two int16 lanes of one int32.
func pairAt(row []int8, k int) int32 {
	return int32(uint16(int16(row[k]))) | int32(row[k+1])<<16
}

// dotRowSIMD is dotRowGo with AVX2: per pair of inputs, one broadcast and
// one VPMADDWD per block of 8 output channels, four blocks at a time.
func dotRowSIMD(p *packedGEMM, row []int8, biasEff, acc []int32) {
	k2, kEven, nb := p.k2, p.k/2, p.nb
	odd := p.k%2 == 1
	var last int32
	if odd {
		last = int32(uint16(int16(row[p.k-1])))
	}
	b := 0
	for ; b+4 <= nb; b += 4 {
		w0 := p.w[b*k2*16 : (b+1)*k2*16]
		w1 := p.w[(b+1)*k2*16 : (b+2)*k2*16]
		w2 := p.w[(b+2)*k2*16 : (b+3)*k2*16]
		w3 := p.w[(b+3)*k2*16 : (b+4)*k2*16]
		a0 := archsimd.LoadInt32x8Slice(biasEff[b*8:])
		a1 := archsimd.LoadInt32x8Slice(biasEff[b*8+8:])
		a2 := archsimd.LoadInt32x8Slice(biasEff[b*8+16:])
		a3 := archsimd.LoadInt32x8Slice(biasEff[b*8+24:])
		for q := 0; q < kEven; q++ {
			x := archsimd.BroadcastInt32x8(pairAt(row, 2*q)).AsInt16x16()
			o := q * 16
			a0 = a0.Add(archsimd.LoadInt16x16Slice(w0[o:]).DotProductPairs(x))
			a1 = a1.Add(archsimd.LoadInt16x16Slice(w1[o:]).DotProductPairs(x))
			a2 = a2.Add(archsimd.LoadInt16x16Slice(w2[o:]).DotProductPairs(x))
			a3 = a3.Add(archsimd.LoadInt16x16Slice(w3[o:]).DotProductPairs(x))
		}
		if odd {
			x := archsimd.BroadcastInt32x8(last).AsInt16x16()
			o := kEven * 16
			a0 = a0.Add(archsimd.LoadInt16x16Slice(w0[o:]).DotProductPairs(x))
			a1 = a1.Add(archsimd.LoadInt16x16Slice(w1[o:]).DotProductPairs(x))
			a2 = a2.Add(archsimd.LoadInt16x16Slice(w2[o:]).DotProductPairs(x))
			a3 = a3.Add(archsimd.LoadInt16x16Slice(w3[o:]).DotProductPairs(x))
		}
		a0.StoreSlice(acc[b*8:])
		a1.StoreSlice(acc[b*8+8:])
		a2.StoreSlice(acc[b*8+16:])
		a3.StoreSlice(acc[b*8+24:])
	}
	for ; b < nb; b++ {
		w0 := p.w[b*k2*16 : (b+1)*k2*16]
		a0 := archsimd.LoadInt32x8Slice(biasEff[b*8:])
		for q := 0; q < kEven; q++ {
			x := archsimd.BroadcastInt32x8(pairAt(row, 2*q)).AsInt16x16()
			a0 = a0.Add(archsimd.LoadInt16x16Slice(w0[q*16:]).DotProductPairs(x))
		}
		if odd {
			x := archsimd.BroadcastInt32x8(last).AsInt16x16()
			a0 = a0.Add(archsimd.LoadInt16x16Slice(w0[kEven*16:]).DotProductPairs(x))
		}
		a0.StoreSlice(acc[b*8:])
	}
}

// dwTapSIMD is dwTapGo with AVX2, 8 channels at a time.
func dwTapSIMD(acc, w []int32, x []int8, zp int32) {
	n := len(acc)
	w = w[:n]
	x = x[:n]
	zv := archsimd.BroadcastInt32x8(zp)
	c := 0
	for ; c+16 <= n; c += 16 {
		xv := archsimd.LoadInt8x16Slice(x[c:])
		lo := xv.ExtendLo8ToInt32().Sub(zv)
		hi := xv.ExtendToInt16().GetHi().ExtendToInt32().Sub(zv)
		a := archsimd.LoadInt32x8Slice(acc[c:]).Add(lo.Mul(archsimd.LoadInt32x8Slice(w[c:])))
		a.StoreSlice(acc[c:])
		a = archsimd.LoadInt32x8Slice(acc[c+8:]).Add(hi.Mul(archsimd.LoadInt32x8Slice(w[c+8:])))
		a.StoreSlice(acc[c+8:])
	}
	for ; c < n; c++ {
		acc[c] += w[c] * (int32(x[c]) - zp)
	}
}
