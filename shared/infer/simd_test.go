package infer

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
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
		acc1 := make([]int32, k)
		acc2 := make([]int32, k)
		w32 := make([]int32, k)
		for i := range w32 {
			w32[i] = int32(w[i])
		}
		dwTapGo(acc1, w32, row, -5)
		dwTap(acc2, w32, row, -5)
		if diff := cmp.Diff(acc1, acc2); diff != "" {
			t.Errorf("dwTap %d (-go +in use):\n%s", k, diff)
		}
	}
}
