//go:build goexperiment.simd && amd64

package infer

import (
	"simd/archsimd"
	"unsafe"

	"github.com/megapipe/mega/shared/infer/kernels"
)

// ldf loads 8 float32 at element offset i of p.
func ldf(p unsafe.Pointer, i int) archsimd.Float32x8 {
	return archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p, 4*i)))
}

// storeClamp stores clamp(a) into y[:min(8, len(y))].
func storeClamp(a, lo, hi archsimd.Float32x8, y []float32) {
	a = a.Max(lo).Min(hi)
	if len(y) >= 8 {
		a.Store((*[8]float32)(y))
		return
	}
	a.StoreSlicePart(y)
}

// floatGEMMRowsAVX2 is the float GEMM with AVX2+FMA: one row at a time, four
// blocks of 8 channels sharing each broadcast (four accumulators). A
// register-blocked variant (4 rows x 2 blocks, eight accumulators) measured
// 2-9x slower with archsimd on this compiler (see doc.go), so it is not used.
func floatGEMMRowsAVX2(g *floatGEMM, x []float32, rows int, bias []float32, lo, hi float32, y []float32) {
	n, k, nb := g.n, g.k, g.nb
	if rows == 0 || n == 0 {
		return
	}
	vlo, vhi := archsimd.BroadcastFloat32x8(lo), archsimd.BroadcastFloat32x8(hi)
	_ = y[rows*n-1]
	_ = bias[nb*8-1]
	if k == 0 {
		for r := 0; r < rows; r++ {
			for b := 0; b < nb; b++ {
				storeClamp(archsimd.LoadFloat32x8Slice(bias[b*8:]), vlo, vhi, y[r*n+b*8:r*n+n])
			}
		}
		return
	}
	_ = x[rows*k-1]
	wp := unsafe.Pointer(&g.w[0])
	r := 0
	for ; r < rows; r++ {
		x0 := unsafe.Pointer(&x[r*k])
		yr := y[r*n : (r+1)*n]
		b := 0
		for ; b+4 <= nb; b += 4 {
			w0 := unsafe.Add(wp, 4*b*k*8)
			w1 := unsafe.Add(w0, 4*k*8)
			w2 := unsafe.Add(w1, 4*k*8)
			w3 := unsafe.Add(w2, 4*k*8)
			var a0, a1, a2, a3 archsimd.Float32x8
			for d := 0; d < k; d++ {
				s := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(x0, 4*d)))
				a0 = a0.Add(ldf(w0, 8*d).Mul(s))
				a1 = a1.Add(ldf(w1, 8*d).Mul(s))
				a2 = a2.Add(ldf(w2, 8*d).Mul(s))
				a3 = a3.Add(ldf(w3, 8*d).Mul(s))
			}
			c := b * 8
			a0 = a0.Add(archsimd.LoadFloat32x8Slice(bias[c:]))
			a1 = a1.Add(archsimd.LoadFloat32x8Slice(bias[c+8:]))
			a2 = a2.Add(archsimd.LoadFloat32x8Slice(bias[c+16:]))
			a3 = a3.Add(archsimd.LoadFloat32x8Slice(bias[c+24:]))
			storeClamp(a0, vlo, vhi, yr[c:])
			storeClamp(a1, vlo, vhi, yr[c+8:])
			storeClamp(a2, vlo, vhi, yr[c+16:])
			storeClamp(a3, vlo, vhi, yr[c+24:])
		}
		for ; b < nb; b++ {
			w0 := unsafe.Add(wp, 4*b*k*8)
			var a0 archsimd.Float32x8
			for d := 0; d < k; d++ {
				a0 = a0.Add(ldf(w0, 8*d).Mul(archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(x0, 4*d)))))
			}
			storeClamp(a0.Add(archsimd.LoadFloat32x8Slice(bias[b*8:])), vlo, vhi, yr[b*8:])
		}
	}
}

// floatDepthwiseAVX2 is a multiplier-1 float DEPTHWISE_CONV_2D with AVX2+FMA:
// for each output pixel, 8 channels per vector (16 at a time where they
// exist; four accumulators ran 30x slower here, measured, so two) over the
// taps inside the image; tail channels are scalar.
func floatDepthwiseAVX2(s kernels.ConvShape, x, w, bias []float32, lo, hi float32, y []float32) {
	C := s.OutC
	if s.Batch*s.OutH*s.OutW*C == 0 {
		return
	}
	vlo, vhi := archsimd.BroadcastFloat32x8(lo), archsimd.BroadcastFloat32x8(hi)
	_ = x[s.Batch*s.InH*s.InW*C-1]
	_ = w[s.KH*s.KW*C-1]
	_ = y[s.Batch*s.OutH*s.OutW*C-1]
	xp, wp := unsafe.Pointer(&x[0]), unsafe.Pointer(&w[0])
	c8 := C / 8 * 8
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			iy0 := oy*s.StrideH - s.PadTop
			ky0, ky1 := validTaps(iy0, s.DilH, s.KH, s.InH)
			for ox := 0; ox < s.OutW; ox++ {
				ix0 := ox*s.StrideW - s.PadLeft
				kx0, kx1 := validTaps(ix0, s.DilW, s.KW, s.InW)
				yo := ((b*s.OutH+oy)*s.OutW + ox) * C
				c := 0
				for ; c+16 <= C; c += 16 {
					var a0, a1 archsimd.Float32x8
					for ky := ky0; ky < ky1; ky++ {
						row := ((b*s.InH+iy0+ky*s.DilH)*s.InW + ix0) * C
						for kx := kx0; kx < kx1; kx++ {
							xi := row + kx*s.DilW*C + c
							wi := (ky*s.KW+kx)*C + c
							a0 = a0.Add(ldf(wp, wi).Mul(ldf(xp, xi)))
							a1 = a1.Add(ldf(wp, wi+8).Mul(ldf(xp, xi+8)))
						}
					}
					a0 = a0.Add(archsimd.LoadFloat32x8Slice(bias[c:]))
					a1 = a1.Add(archsimd.LoadFloat32x8Slice(bias[c+8:]))
					a0.Max(vlo).Min(vhi).Store((*[8]float32)(y[yo+c:]))
					a1.Max(vlo).Min(vhi).Store((*[8]float32)(y[yo+c+8:]))
				}
				for ; c < c8; c += 8 {
					var a0 archsimd.Float32x8
					for ky := ky0; ky < ky1; ky++ {
						row := ((b*s.InH+iy0+ky*s.DilH)*s.InW + ix0) * C
						for kx := kx0; kx < kx1; kx++ {
							a0 = a0.Add(ldf(wp, (ky*s.KW+kx)*C+c).Mul(ldf(xp, row+kx*s.DilW*C+c)))
						}
					}
					a0 = a0.Add(archsimd.LoadFloat32x8Slice(bias[c:]))
					a0.Max(vlo).Min(vhi).Store((*[8]float32)(y[yo+c:]))
				}
				for ; c < C; c++ {
					var a float32
					for ky := ky0; ky < ky1; ky++ {
						row := ((b*s.InH+iy0+ky*s.DilH)*s.InW + ix0) * C
						for kx := kx0; kx < kx1; kx++ {
							a += w[(ky*s.KW+kx)*C+c] * x[row+kx*s.DilW*C+c]
						}
					}
					a += bias[c]
					y[yo+c] = min(max(a, lo), hi)
				}
			}
		}
	}
}

// validTaps returns the taps [t0, t1) of a window starting at i0 (step dil,
// kn taps) that fall inside [0, n).
func validTaps(i0, dil, kn, n int) (t0, t1 int) {
	t0, t1 = 0, kn
	for t0 < kn && i0+t0*dil < 0 {
		t0++
	}
	for t1 > t0 && i0+(t1-1)*dil >= n {
		t1--
	}
	return t0, t1
}
