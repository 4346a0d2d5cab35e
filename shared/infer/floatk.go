package infer

import (
	"github.com/megapipe/mega/shared/infer/kernels"
)

// Float32 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED. On the vector
// paths (simd_float_amd64.go) constant weights are packed once into blocks
// of 8 output channels ([block][k][8], zero-padded), convolutions gather
// im2col rows of up to im2colChunk pixels (a 1x1 stride-1 convolution reads
// its input in place) and a register-blocked GEMM (4 rows x 16 channels,
// FMA) writes the clamped outputs; a multiplier-1 depthwise convolution
// runs 16 channels per step over the valid taps. Each output lane sums in
// the reference loops' order with separate multiplies and adds and the bias
// last (no fused multiply-add), so the outputs are bit-identical to package
// kernels' loops: calibration (package quant) gives the same ranges on
// every path. On the go path the reference loops run.

// floatGEMM holds FULLY_CONNECTED or CONV_2D weights [n][k] as nb blocks of
// 8 output channels, each [k][8].
type floatGEMM struct {
	n, k, nb int
	w        []float32
}

func packFloatGEMM(w []float32, n, k int) *floatGEMM {
	g := &floatGEMM{n: n, k: k, nb: (n + 7) / 8}
	g.w = make([]float32, g.nb*k*8)
	for o := 0; o < n; o++ {
		b, j := o/8, o%8
		for d := 0; d < k; d++ {
			g.w[(b*k+d)*8+j] = w[o*k+d]
		}
	}
	return g
}

// floatState is a float kernel's packed weights (shared by clones) and
// per-interpreter scratch.
type floatState struct {
	g    *floatGEMM
	bias []float32 // the bias padded to whole blocks (zero without one)
	rows []float32 // im2col rows
}

// floatGEMMRows computes y[r,:] = clamp(bias + W·x[r,:]) for rows rows
// (nil without vector kernels).
var floatGEMMRows func(g *floatGEMM, x []float32, rows int, bias []float32, lo, hi float32, y []float32)

// floatDepthwise runs a multiplier-1 float DEPTHWISE_CONV_2D (nil without
// vector kernels); bias is padded to a multiple of 8.
var floatDepthwise func(s kernels.ConvShape, x, w, bias []float32, lo, hi float32, y []float32)

// newFloatState packs constant weights for the vector kernels: n output
// channels of k inputs for a GEMM, or (gemm false) a depthwise filter.
// It returns nil where the reference loops run anyway.
func newFloatState(ip *Interpreter, key string, w *Tensor, n, k, rowLen int, gemm bool) *floatState {
	if w == nil || !w.isConst || len(cpuKernelPaths()) < 2 {
		return nil
	}
	st := &floatState{bias: make([]float32, (n+7)/8*8)}
	if gemm {
		st.g = ip.shared.packedWeights(key, func() any { return packFloatGEMM(w.Float32s(), n, k) }).(*floatGEMM)
		st.rows = make([]float32, rowLen)
	}
	return st
}

// setBias copies the bias (or zeros) into the padded bias.
func (st *floatState) setBias(bias []float32) []float32 {
	if bias == nil {
		clear(st.bias)
	} else {
		copy(st.bias, bias)
	}
	return st.bias
}

func fcFloat(st *floatState, batch, k, n int, x, w, bias []float32, lo, hi float32, y []float32) {
	if st == nil || st.g == nil || floatGEMMRows == nil {
		kernels.FullyConnectedFloat(batch, k, n, x, w, bias, lo, hi, y)
		return
	}
	floatGEMMRows(st.g, x, batch, st.setBias(bias), lo, hi, y)
}

func convFloat(st *floatState, s kernels.ConvShape, x, w, bias []float32, lo, hi float32, y []float32) {
	if st == nil || st.g == nil || floatGEMMRows == nil {
		kernels.Conv2DFloat(s, x, w, bias, lo, hi, y)
		return
	}
	b := st.setBias(bias)
	total := s.Batch * s.OutH * s.OutW
	if s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.PadTop == 0 && s.PadLeft == 0 &&
		s.OutH == s.InH && s.OutW == s.InW {
		floatGEMMRows(st.g, x, total, b, lo, hi, y)
		return
	}
	k := s.KH * s.KW * s.InC
	for first := 0; first < total; first += im2colChunk {
		rows := min(im2colChunk, total-first)
		buf := st.rows[:rows*k]
		for r := 0; r < rows; r++ {
			pix := first + r
			ox := pix % s.OutW
			oy := (pix / s.OutW) % s.OutH
			bt := pix / (s.OutW * s.OutH)
			row := buf[r*k : (r+1)*k]
			for ky := 0; ky < s.KH; ky++ {
				iy := oy*s.StrideH - s.PadTop + ky*s.DilH
				seg := row[ky*s.KW*s.InC : (ky+1)*s.KW*s.InC]
				if iy < 0 || iy >= s.InH {
					clear(seg)
					continue
				}
				for kx := 0; kx < s.KW; kx++ {
					ix := ox*s.StrideW - s.PadLeft + kx*s.DilW
					dst := seg[kx*s.InC : (kx+1)*s.InC]
					if ix < 0 || ix >= s.InW {
						clear(dst)
						continue
					}
					copy(dst, x[((bt*s.InH+iy)*s.InW+ix)*s.InC:])
				}
			}
		}
		floatGEMMRows(st.g, buf, rows, b, lo, hi, y[first*s.OutC:(first+rows)*s.OutC])
	}
}

func depthwiseFloat(st *floatState, s kernels.ConvShape, x, w, bias []float32, lo, hi float32, y []float32) {
	if st == nil || floatDepthwise == nil || s.DepthMultiplier != 1 {
		kernels.DepthwiseConv2DFloat(s, x, w, bias, lo, hi, y)
		return
	}
	floatDepthwise(s, x, w, st.setBias(bias), lo, hi, y)
}
