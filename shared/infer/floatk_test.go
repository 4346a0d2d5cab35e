package infer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/megapipe/mega/shared/infer/kernels"
)

// TestFloatKernelsAgree compares the float32 CONV_2D, DEPTHWISE_CONV_2D and
// FULLY_CONNECTED kernels in use with the reference loops of package
// kernels (TestKernelPaths runs it on every path).
func TestFloatKernelsAgree(t *testing.T) { testFloatKernelsAgree(t) }

// floatEqual requires the vector kernels' outputs to equal the reference
// loops': they sum in the same order (bias last) with separate multiplies
// and adds, so the bits agree (== also equates -0 and +0, which a padded
// tap adding 0*w can turn one into).
func floatEqual(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s (-reference +in use):\n%s", what, diff)
	}
}

func randFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

func testFloatKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	inf := float32(math.Inf(1))
	acts := [][2]float32{{-inf, inf}, {0, inf}, {0, 6}, {-1, 1}}
	// FULLY_CONNECTED: batches 1-9 (4-row blocks and leftovers), channel
	// tails, the autoencoder's 640x128.
	fc := [][3]int{{1, 640, 128}, {8, 128, 640}, {5, 9, 17}, {3, 1, 1}, {4, 33, 24}, {1, 0, 5}}
	for i := 0; i < 30+len(fc); i++ {
		batch, k, n := 1+r.IntN(9), 1+r.IntN(70), 1+r.IntN(70)
		if i >= 30 {
			batch, k, n = fc[i-30][0], fc[i-30][1], fc[i-30][2]
		}
		x, w, bias := randFloats(r, batch*k), randFloats(r, n*k), randFloats(r, n)
		if i%5 == 0 {
			bias = nil
		}
		a := acts[i%len(acts)]
		want := make([]float32, batch*n)
		kernels.FullyConnectedFloat(batch, k, n, x, w, bias, a[0], a[1], want)
		st := &floatState{g: packFloatGEMM(w, n, k), bias: make([]float32, (n+7)/8*8)}
		got := make([]float32, batch*n)
		fcFloat(st, batch, k, n, x, w, bias, a[0], a[1], got)
		floatEqual(t, "fc", got, want)
	}
	for i := 0; i < 80; i++ {
		s := kernels.ConvShape{Batch: 1 + r.IntN(2), InH: 1 + r.IntN(10), InW: 1 + r.IntN(10), InC: 1 + r.IntN(20),
			KH: 1 + r.IntN(3), KW: 1 + r.IntN(3), StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(2),
			DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2), DepthMultiplier: 1}
		depthwise := i%2 == 1
		if i%8 == 0 { // pointwise: the GEMM reads the input in place
			s.KH, s.KW, s.StrideH, s.StrideW, s.DilH, s.DilW = 1, 1, 1, 1, 1, 1
		}
		if i%8 == 3 {
			s.InC = 32 + 8*r.IntN(6) // whole 32-channel depthwise groups
		}
		if depthwise && i%7 == 5 {
			s.DepthMultiplier = 2 // reference loops
		}
		s.OutC = 1 + r.IntN(40)
		if depthwise {
			s.OutC = s.InC * s.DepthMultiplier
		}
		pad := kernels.Padding(r.IntN(2))
		s.OutH, s.PadTop = kernels.OutSize(pad, s.InH, s.KH, s.StrideH, s.DilH)
		s.OutW, s.PadLeft = kernels.OutSize(pad, s.InW, s.KW, s.StrideW, s.DilW)
		x := randFloats(r, s.Batch*s.InH*s.InW*s.InC)
		nw := s.OutC * s.KH * s.KW * s.InC
		if depthwise {
			nw = s.KH * s.KW * s.OutC
		}
		w, bias := randFloats(r, nw), randFloats(r, s.OutC)
		if i%5 == 0 {
			bias = nil
		}
		a := acts[i%len(acts)]
		want := make([]float32, s.Batch*s.OutH*s.OutW*s.OutC)
		got := make([]float32, len(want))
		kk := s.KH * s.KW * s.InC
		st := &floatState{bias: make([]float32, (s.OutC+7)/8*8)}
		if depthwise {
			kernels.DepthwiseConv2DFloat(s, x, w, bias, a[0], a[1], want)
			depthwiseFloat(st, s, x, w, bias, a[0], a[1], got)
		} else {
			st.g, st.rows = packFloatGEMM(w, s.OutC, kk), make([]float32, im2colChunk*kk)
			kernels.Conv2DFloat(s, x, w, bias, a[0], a[1], want)
			convFloat(st, s, x, w, bias, a[0], a[1], got)
		}
		floatEqual(t, "conv", got, want)
	}
}
