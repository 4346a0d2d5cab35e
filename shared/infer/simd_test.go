package infer

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/megapipe/mega/shared/infer/kernels"
)

// TestRowKernelsAgree checks that the kernels in use (vector kernels when
// built with GOEXPERIMENT=simd on AVX2) equal the plain-Go ones on random
// shapes and extreme values.
func TestRowKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sh := range [][2]int{{1, 1}, {8, 2}, {7, 3}, {33, 9}, {64, 128}, {256, 17}, {2, 255}} {
		n, k := sh[0], sh[1]
		w := make([]int8, n*k)
		row := make([]int8, k)
		for i := range w {
			w[i] = int8(r.IntN(256) - 128)
		}
		for i := range row {
			row[i] = int8(r.IntN(256) - 128)
		}
		if n == 2 { // extremes: -128 * -128 everywhere
			for i := range w {
				w[i] = -128
			}
			for i := range row {
				row[i] = -128
			}
		}
		p := packGEMM(w, n, k)
		bias := make([]int32, n)
		for i := range bias {
			bias[i] = int32(r.IntN(1<<20) - 1<<19)
		}
		be := p.biasEff(bias, 3)
		want := make([]int32, p.nb*8)
		got := make([]int32, p.nb*8)
		dotRowGo(p, row, be, want)
		dotRow(p, row, be, got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("dotRow %dx%d (-go +in use):\n%s", n, k, diff)
		}
		// and the plain-Go kernel against the textbook sum
		for o := 0; o < n; o++ {
			s := bias[o]
			for d := 0; d < k; d++ {
				s += int32(w[o*k+d]) * (int32(row[d]) - 3)
			}
			if want[o] != s {
				t.Fatalf("dotRowGo %dx%d [%d] = %d, want %d", n, k, o, want[o], s)
			}
		}
	}
}

// TestDepthwiseKernelsAgree compares the depthwise kernel in use with the
// reference loops of package kernels on random shapes (channel tails,
// single input channel with multiplier 8, strides, dilation, padding) in both
// requantization modes.
func TestDepthwiseKernelsAgree(t *testing.T) {
	for _, narrow := range []bool{narrowAVX512, false} {
		t.Run(fmt.Sprint("avx512-narrowing=", narrow), func(t *testing.T) {
			defer func(old bool) { narrowAVX512 = old }(narrowAVX512)
			narrowAVX512 = narrow
			testDepthwiseKernelsAgree(t)
		})
	}
}

func testDepthwiseKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 120; i++ {
		ic := 1 + r.IntN(20)
		m := 1
		if i%5 == 1 {
			ic = 8 // two pixels per vector when the stride is 1
		}
		if i%7 == 6 {
			ic = 16 * (1 + r.IntN(2)) // whole 16-channel blocks: requantized in assembly
		}
		if i%3 == 0 {
			ic, m = 1, 1+r.IntN(10)
		}
		if i%6 == 3 {
			m = 8 // one input channel, 8 outputs: requantized in assembly
		}
		s := kernels.ConvShape{Batch: 1 + r.IntN(2), InH: 1 + r.IntN(9), InW: 1 + r.IntN(9), InC: ic,
			KH: 1 + r.IntN(3), KW: 1 + r.IntN(3), StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(2),
			DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2), DepthMultiplier: m}
		s.OutC = ic * m
		pad := kernels.Padding(r.IntN(2))
		s.OutH, s.PadTop = kernels.OutSize(pad, s.InH, s.KH, s.StrideH, s.DilH)
		s.OutW, s.PadLeft = kernels.OutSize(pad, s.InW, s.KW, s.StrideW, s.DilW)
		x := make([]int8, s.Batch*s.InH*s.InW*s.InC)
		w := make([]int8, s.KH*s.KW*s.OutC)
		bias := make([]int32, s.OutC)
		for j := range x {
			x[j] = int8(r.IntN(256) - 128)
		}
		for j := range w {
			w[j] = int8(r.IntN(255) - 127)
		}
		for j := range bias {
			bias[j] = int32(r.IntN(20000) - 10000)
		}
		scales := make([]float32, s.OutC)
		for j := range scales {
			scales[j] = 0.001 + r.Float32()*0.01
		}
		if i%6 == 3 {
			scales = scales[:1] // one weight scale for the tensor
		}
		zp := int32(r.IntN(256) - 128)
		for _, mode := range []Requant{XNNPack, Reference} {
			rq := kernels.NewRequant(mode, 0.02, scales, 0.05, int32(r.IntN(20)-10), -128, 127, len(scales) == 1)
			want := make([]int8, s.Batch*s.OutH*s.OutW*s.OutC)
			kernels.DepthwiseConv2DInt8(s, x, zp, w, bias, rq, want)
			p := packConv(true, w, s)
			got := make([]int8, len(want))
			depthwiseInt8(p, newConvState(p, s, bias, zp), s, x, zp, rq, got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("case %d %+v %v (-reference +in use):\n%s", i, s, mode, diff)
			}
		}
	}
}

// TestGEMMKernelsAgree compares the GEMM kernel in use (two rows and 32
// channels at a time, fused requantization, when vectorized) with the
// reference FULLY_CONNECTED loops on random sizes, in both modes.
func TestGEMMKernelsAgree(t *testing.T) {
	for _, narrow := range []bool{narrowAVX512, false} {
		for _, vnni := range []bool{useVNNI, false} {
			t.Run(fmt.Sprint("avx512-narrowing=", narrow, "/vnni=", vnni), func(t *testing.T) {
				defer func(old, oldVNNI bool) { narrowAVX512, useVNNI = old, oldVNNI }(narrowAVX512, useVNNI)
				narrowAVX512, useVNNI = narrow, vnni
				testGEMMKernelsAgree(t)
			})
		}
	}
}

func testGEMMKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	// Fixed shapes reach every kernel path: 9-16 channels with an even K over
	// more than one 64-row chunk, whole groups of 32, odd K, short rows.
	fixed := [][3]int{{16, 8, 130}, {12, 8, 65}, {9, 2, 3}, {16, 30, 64}, {32, 32, 5}, {40, 9, 3}, {8, 9, 67}, {16, 7, 4},
		{128, 640, 1}, {640, 128, 1}, {8, 128, 1}, {40, 9, 1}, {72, 36, 1}, {100, 12, 1}} // batch 1: the autoencoder
	for i := 0; i < 40+len(fixed); i++ {
		n, k, rows := 1+r.IntN(70), 1+r.IntN(40), 1+r.IntN(7)
		if i >= 40 {
			n, k, rows = fixed[i-40][0], fixed[i-40][1], fixed[i-40][2]
		}
		w := make([]int8, n*k)
		x := make([]int8, rows*k)
		bias := make([]int32, n)
		for j := range w {
			w[j] = int8(r.IntN(255) - 127)
		}
		for j := range x {
			x[j] = int8(r.IntN(256) - 128)
		}
		for j := range bias {
			bias[j] = int32(r.IntN(20000) - 10000)
		}
		scales := []float32{0.003}
		if i%2 == 0 {
			scales = make([]float32, n)
			for j := range scales {
				scales[j] = 0.001 + r.Float32()*0.01
			}
		}
		zp := int32(r.IntN(256) - 128)
		for _, mode := range []Requant{XNNPack, Reference} {
			rq := kernels.NewRequant(mode, 0.02, scales, 0.05, int32(r.IntN(20)-10), -128, 127, len(scales) == 1)
			want := make([]int8, rows*n)
			kernels.FullyConnectedInt8(rows, k, n, x, zp, w, 0, bias, rq, want)
			p := packGEMM(w, n, k)
			got := make([]int8, rows*n)
			gemmRows(p, x, rows, p.biasEff(bias, zp), p.newAcc(), rq, got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("case %d n=%d k=%d rows=%d %v (-reference +in use):\n%s", i, n, k, rows, mode, diff)
			}
		}
	}
}

// TestConvKernelsAgree compares the CONV_2D path in use (pointwise GEMM, or
// im2col from the zero-point-padded image) with the reference loops.
func TestConvKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 60; i++ {
		s := kernels.ConvShape{Batch: 1 + r.IntN(2), InH: 1 + r.IntN(9), InW: 1 + r.IntN(9), InC: 1 + r.IntN(12),
			OutC: 1 + r.IntN(40), KH: 1 + r.IntN(4), KW: 1 + r.IntN(4), StrideH: 1 + r.IntN(3), StrideW: 1 + r.IntN(3),
			DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2)}
		if i%4 == 0 {
			s.KH, s.KW, s.StrideH, s.StrideW, s.DilH, s.DilW = 1, 1, 1, 1, 1, 1
		}
		pad := kernels.Padding(r.IntN(2))
		s.OutH, s.PadTop = kernels.OutSize(pad, s.InH, s.KH, s.StrideH, s.DilH)
		s.OutW, s.PadLeft = kernels.OutSize(pad, s.InW, s.KW, s.StrideW, s.DilW)
		x := make([]int8, s.Batch*s.InH*s.InW*s.InC)
		w := make([]int8, s.OutC*s.KH*s.KW*s.InC)
		bias := make([]int32, s.OutC)
		for j := range x {
			x[j] = int8(r.IntN(256) - 128)
		}
		for j := range w {
			w[j] = int8(r.IntN(255) - 127)
		}
		for j := range bias {
			bias[j] = int32(r.IntN(20000) - 10000)
		}
		scales := make([]float32, s.OutC)
		for j := range scales {
			scales[j] = 0.001 + r.Float32()*0.01
		}
		zp := int32(r.IntN(256) - 128)
		for _, mode := range []Requant{XNNPack, Reference} {
			rq := kernels.NewRequant(mode, 0.02, scales, 0.05, int32(r.IntN(20)-10), -128, 127, false)
			want := make([]int8, s.Batch*s.OutH*s.OutW*s.OutC)
			kernels.Conv2DInt8(s, x, zp, w, bias, rq, want)
			p := packConv(false, w, s)
			got := make([]int8, len(want))
			convInt8(p, newConvState(p, s, bias, zp), s, x, zp, rq, got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("case %d %+v %v (-reference +in use):\n%s", i, s, mode, diff)
			}
		}
	}
}
