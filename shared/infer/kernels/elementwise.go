package kernels

import (
	"math"
)

// Broadcast maps an output index space onto two inputs with NumPy
// broadcasting. Shapes are right-aligned and padded to MaxRank.
type Broadcast struct {
	Out        [MaxRank]int
	StrA, StrB [MaxRank]int // element strides, 0 along broadcast axes
	N          int          // output elements
	Same       bool         // both inputs have the output's shape
}

// MaxRank is the highest tensor rank the broadcasting kernels handle.
const MaxRank = 6

// NewBroadcast returns the broadcast of shapes a and b, or ok=false when
// they are incompatible or of rank above MaxRank.
func NewBroadcast(a, b []int) (bc Broadcast, outShape []int, ok bool) {
	r := max(len(a), len(b))
	if r > MaxRank {
		return bc, nil, false
	}
	outShape = make([]int, r)
	pa := make([]int, r)
	pb := make([]int, r)
	for i := range r {
		pa[i], pb[i] = 1, 1
	}
	copy(pa[r-len(a):], a)
	copy(pb[r-len(b):], b)
	for i := range r {
		switch {
		case pa[i] == pb[i]:
			outShape[i] = pa[i]
		case pa[i] == 1:
			outShape[i] = pb[i]
		case pb[i] == 1:
			outShape[i] = pa[i]
		default:
			return bc, nil, false
		}
	}
	bc.Same = equalInts(a, outShape) && equalInts(b, outShape)
	sa, sb := 1, 1
	bc.N = 1
	for i := r - 1; i >= 0; i-- {
		k := MaxRank - r + i
		bc.Out[k] = outShape[i]
		if pa[i] != 1 {
			bc.StrA[k] = sa
		}
		if pb[i] != 1 {
			bc.StrB[k] = sb
		}
		sa *= pa[i]
		sb *= pb[i]
		bc.N *= outShape[i]
	}
	for k := 0; k < MaxRank-r; k++ {
		bc.Out[k] = 1
	}
	return bc, outShape, true
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Each calls f(o, ia, ib) for every output element o with the matching
// input indices.
func (bc *Broadcast) Each(f func(o, ia, ib int)) {
	if bc.Same {
		for i := 0; i < bc.N; i++ {
			f(i, i, i)
		}
		return
	}
	if bc.N == 0 {
		return
	}
	var idx [MaxRank]int
	ia, ib := 0, 0
	for o := 0; o < bc.N; o++ {
		f(o, ia, ib)
		for k := MaxRank - 1; k >= 0; k-- {
			idx[k]++
			ia += bc.StrA[k]
			ib += bc.StrB[k]
			if idx[k] < bc.Out[k] {
				break
			}
			ia -= bc.StrA[k] * idx[k]
			ib -= bc.StrB[k] * idx[k]
			idx[k] = 0
		}
	}
}

// AddParams holds TFLite's int8 ADD/SUB fixed-point setup (kernels/add.cc).
type AddParams struct {
	ZP1, ZP2, ZPOut int32
	M1, M2, MOut    int32
	S1, S2, SOut    int
	LeftShift       int
	Min, Max        int32
	Sub             bool
}

// NewAddParams computes the multipliers of an int8 ADD (or SUB) with input
// scales s1, s2 and output scale so.
func NewAddParams(s1 float32, zp1 int32, s2 float32, zp2 int32, so float32, zpo, lo, hi int32, sub bool) AddParams {
	p := AddParams{ZP1: zp1, ZP2: zp2, ZPOut: zpo, LeftShift: 20, Min: lo, Max: hi, Sub: sub}
	twiceMax := 2 * float64(max(s1, s2))
	p.M1, p.S1 = QuantizeMultiplier(float64(s1) / twiceMax)
	p.M2, p.S2 = QuantizeMultiplier(float64(s2) / twiceMax)
	p.MOut, p.SOut = QuantizeMultiplier(twiceMax / float64(float32(1<<20)*so))
	return p
}

// Apply adds (or subtracts) one pair of int8 values.
func (p *AddParams) Apply(a, b int8) int8 {
	x := MultiplyByQuantizedMultiplier((int32(a)-p.ZP1)<<p.LeftShift, p.M1, p.S1)
	y := MultiplyByQuantizedMultiplier((int32(b)-p.ZP2)<<p.LeftShift, p.M2, p.S2)
	var r int32
	if p.Sub {
		r = x - y
	} else {
		r = x + y
	}
	v := MultiplyByQuantizedMultiplier(r, p.MOut, p.SOut) + p.ZPOut
	return int8(min(max(v, p.Min), p.Max))
}

// MulParams is an int8 MUL's requantization.
type MulParams struct {
	ZP1, ZP2, ZPOut int32
	Mode            Mode
	M               int32
	S               int
	Scale           float32
	Min, Max        int32
}

// NewMulParams computes an int8 MUL's multiplier s1*s2/so.
func NewMulParams(mode Mode, s1 float32, zp1 int32, s2 float32, zp2 int32, so float32, zpo, lo, hi int32) MulParams {
	p := MulParams{ZP1: zp1, ZP2: zp2, ZPOut: zpo, Mode: mode, Min: lo, Max: hi}
	p.Scale = float32(float32(s1*s2) / so)
	p.M, p.S = QuantizeMultiplier(float64(p.Scale))
	return p
}

// Apply multiplies one pair of int8 values.
func (p *MulParams) Apply(a, b int8) int8 {
	acc := (int32(a) - p.ZP1) * (int32(b) - p.ZP2)
	if p.Mode == XNNPack {
		f := float32(acc) * p.Scale
		f = min(max(f, float32(p.Min-p.ZPOut)), float32(p.Max-p.ZPOut))
		return int8(int32(RoundHalfEven32(f)) + p.ZPOut)
	}
	v := MultiplyByQuantizedMultiplier(acc, p.M, p.S) + p.ZPOut
	return int8(min(max(v, p.Min), p.Max))
}

// LUT is a 256-entry int8 lookup table indexed by uint8(q).
type LUT [256]int8

// Apply maps every element of in through the table.
func (t *LUT) Apply(in, out []int8) {
	for i, v := range in {
		out[i] = t[uint8(v)]
	}
}

// NewLUT builds TFLite's LUTPopulate table: dequantize in float, apply f,
// requantize with std::round and clamp.
func NewLUT(sIn float32, zpIn int32, sOut float32, zpOut int32, f func(float32) float32) *LUT {
	var t LUT
	inv := 1 / sOut
	for v := int32(-128); v <= 127; v++ {
		x := sIn * float32(v-zpIn)
		q := int32(RoundHalfAway32(f(x)*inv)) + zpOut
		t[uint8(int8(v))] = int8(min(max(q, -128), 127))
	}
	return &t
}

// Logistic is 1/(1+exp(-x)) in float32 arithmetic.
func Logistic(x float32) float32 { return 1 / (1 + Expf(-x)) }

// Tanh is tanh(x) rounded to float32.
func Tanh(x float32) float32 { return float32(math.Tanh(float64(x))) }

// Expf is exp(x) rounded to float32 (libm expf is correctly rounded in all
// but rare cases).
func Expf(x float32) float32 { return float32(math.Exp(float64(x))) }

// SoftmaxTable is TFLite's default (kGenericOptimized) int8 softmax table:
// table[255-v] = expf(-s_in*beta*v).
type SoftmaxTable [256]float32

// NewSoftmaxTable builds the table for input scale sIn and beta.
func NewSoftmaxTable(sIn, beta float32) *SoftmaxTable {
	var t SoftmaxTable
	scale := -sIn * beta
	for v := 0; v <= 255; v++ {
		t[255-v] = Expf(scale * float32(v))
	}
	return &t
}

// SoftmaxInt8 runs the table kernel over rows of length depth.
func SoftmaxInt8(t *SoftmaxTable, in []int8, depth int, sOut float32, zpOut int32, out []int8) {
	if depth <= 0 {
		return
	}
	for r := 0; r+depth <= len(in); r += depth {
		row := in[r : r+depth]
		mx := int32(-128)
		for _, v := range row {
			mx = max(mx, int32(v))
		}
		off := 255 - mx
		var sum float32
		for _, v := range row {
			sum += t[off+int32(v)]
		}
		inv := 1 / (sum * sOut)
		for j, v := range row {
			q := int32(RoundHalfAway32(t[off+int32(v)]*inv)) + zpOut
			out[r+j] = int8(min(max(q, -128), 127))
		}
	}
}

// SoftmaxFloat computes softmax(beta*x) over rows of length depth.
func SoftmaxFloat(in []float32, depth int, beta float32, out []float32) {
	if depth <= 0 {
		return
	}
	for r := 0; r+depth <= len(in); r += depth {
		row := in[r : r+depth]
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		var sum float32
		for j, v := range row {
			e := Expf((v - mx) * beta)
			out[r+j] = e
			sum += e
		}
		for j := range row {
			out[r+j] /= sum
		}
	}
}

// QuantizeFloat converts float32 to int8: clamp(round(x/scale) + zp) with
// std::round (TFLite's QUANTIZE kernel).
func QuantizeFloat(in []float32, scale float32, zp int32, out []int8) {
	for i, x := range in {
		q := RoundHalfAway32(x/scale) + float32(zp)
		q = min(max(q, -128), 127)
		out[i] = int8(q)
	}
}

// QuantizeFloatXNN converts float32 to int8 as XNNPACK's f32->qs8 convert:
// x*(1/scale), clamp, round half to even, + zp.
func QuantizeFloatXNN(in []float32, scale float32, zp int32, out []int8) {
	inv := 1 / scale
	lo, hi := float32(-128-zp), float32(127-zp)
	for i, x := range in {
		f := min(max(x*inv, lo), hi)
		out[i] = int8(int32(RoundHalfEven32(f)) + zp)
	}
}

// Dequantize converts int8 to float32: float(double(scale)*(q-zp)).
func Dequantize(in []int8, scale float32, zp int32, out []float32) {
	for i, q := range in {
		out[i] = float32(float64(scale) * float64(int32(q)-zp))
	}
}

// Requantize converts int8 between two quantizations with TFLite's
// fixed-point Requantize.
func Requantize(in []int8, zpIn int32, m int32, shift int, zpOut int32, out []int8) {
	for i, q := range in {
		v := MultiplyByQuantizedMultiplier(int32(q)-zpIn, m, shift) + zpOut
		out[i] = int8(min(max(v, -128), 127))
	}
}

// NewRequantizeLUT tabulates an int8 -> int8 QUANTIZE (requantization).
// Reference: TFLite's Requantize, MBQM(q - zp_in, QuantizeMultiplier(s_in/s_out)) + zp_out.
// XNNPack: XNNPACK's qs8 convert, ((q - zp_in)*M + 128) >> 8 + zp_out with
// M = lrintf(256*float32(s_in/s_out)), used when s_in/s_out is within
// [2^-8, 2^7] (XNNPACK's range; outside it the official runtime keeps
// TFLite's kernel).
func NewRequantizeLUT(mode Mode, sIn float32, zpIn int32, sOut float32, zpOut int32) *LUT {
	var t LUT
	r := float32(sIn / sOut)
	if mode == XNNPack && r >= 1.0/256 && r <= 128 {
		m := int32(RoundHalfEven32(256 * r))
		for v := int32(-128); v <= 127; v++ {
			q := ((v-zpIn)*m+128)>>8 + zpOut
			t[uint8(int8(v))] = int8(min(max(q, -128), 127))
		}
		return &t
	}
	m, sh := QuantizeMultiplier(float64(sIn) / float64(sOut))
	for v := int32(-128); v <= 127; v++ {
		q := MultiplyByQuantizedMultiplier(v-zpIn, m, sh) + zpOut
		t[uint8(int8(v))] = int8(min(max(q, -128), 127))
	}
	return &t
}
