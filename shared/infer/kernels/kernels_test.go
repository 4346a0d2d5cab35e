package kernels

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Expected values below are the formulas of
// ../shared/docs/tflite-int8-arithmetic.md worked by hand (shown in comments).

func TestSaturatingRoundingDoublingHighMul(t *testing.T) {
	tests := []struct {
		a, b, want int32
	}{
		{math.MinInt32, math.MinInt32, math.MaxInt32}, // the saturating case
		{1 << 30, 1 << 30, 1 << 29},                   // (2^60 + 2^30) / 2^31 = 2^29 (trunc)
		{3, 1 << 30, 2},                               // (3*2^30 + 2^30) / 2^31 = 2
		{-3, 1 << 30, -1},                             // (-3*2^30 + 1 - 2^30) / 2^31 = -1.99.. -> -1
		{100, 1717986918, 80},                         // (171798691800 + 2^30)/2^31 = 80.50 -> 80
		{0, 12345, 0},
	}
	for _, tc := range tests {
		if got := SaturatingRoundingDoublingHighMul(tc.a, tc.b); got != tc.want {
			t.Errorf("SRDHM(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestRoundingDivideByPOT(t *testing.T) {
	tests := []struct {
		x    int32
		e    int
		want int32
	}{
		{5, 1, 3},   // 2.5 -> 3
		{-5, 1, -3}, // -2.5 -> -3 (half away from zero)
		{7, 2, 2},   // 1.75 -> 2
		{6, 2, 2},   // 1.5 -> 2
		{-6, 2, -2}, // -1.5 -> -2
		{-5, 2, -1}, // -1.25 -> -1
		{80, 3, 10},
		{123, 0, 123},
	}
	for _, tc := range tests {
		if got := RoundingDivideByPOT(tc.x, tc.e); got != tc.want {
			t.Errorf("RDBPOT(%d, %d) = %d, want %d", tc.x, tc.e, got, tc.want)
		}
	}
}

func TestQuantizeMultiplier(t *testing.T) {
	type qm struct {
		M int32
		S int
	}
	tests := []struct {
		d    float64
		want qm
	}{
		{0, qm{0, 0}},
		{0.5, qm{1 << 30, 0}},                  // frexp = (0.5, 0)
		{1.0, qm{1 << 30, 1}},                  // frexp = (0.5, 1)
		{0.75, qm{1610612736, 0}},              // 0.75 * 2^31
		{0.1, qm{1717986918, -3}},              // frexp = (0.8, -3); 0.8*2^31 = 1717986918.4
		{1 - math.Pow(2, -40), qm{1 << 30, 1}}, // q*2^31 rounds to 2^31: halve, shift+1
		{math.Pow(2, -40), qm{0, 0}},           // shift -39 < -31
	}
	for _, tc := range tests {
		m, s := QuantizeMultiplier(tc.d)
		if diff := cmp.Diff(tc.want, qm{m, s}); diff != "" {
			t.Errorf("QuantizeMultiplier(%g) (-want +got):\n%s", tc.d, diff)
		}
	}
}

func TestMultiplyByQuantizedMultiplier(t *testing.T) {
	tests := []struct {
		x, m  int32
		shift int
		want  int32
	}{
		{100, 1717986918, -3, 10},   // SRDHM = 80, RDBPOT(80,3) = 10
		{-100, 1717986918, -3, -10}, // SRDHM = -80, RDBPOT(-80,3) = -10
		{3, 1 << 30, 1, 3},          // SRDHM(6, 2^30) = 3.5 -> 3
		{5, 1 << 30, 0, 3},          // SRDHM(5, 2^30) = 2.5 -> 3
	}
	for _, tc := range tests {
		if got := MultiplyByQuantizedMultiplier(tc.x, tc.m, tc.shift); got != tc.want {
			t.Errorf("MBQM(%d, %d, %d) = %d, want %d", tc.x, tc.m, tc.shift, got, tc.want)
		}
	}
}

func TestRequantModesDiffer(t *testing.T) {
	// Scale 0.5 exactly: 2.5 rounds to 2 (half even) in XNNPACK mode and to 3
	// in gemmlowp mode; 3.5 rounds to 4 in both.
	for _, tc := range []struct {
		mode Mode
		acc  int32
		want int8
	}{
		{XNNPack, 5, 2 + 10}, {Reference, 5, 3 + 10},
		{XNNPack, 7, 4 + 10}, {Reference, 7, 4 + 10},
		{XNNPack, 1000, 127}, {Reference, -1000, -128},
	} {
		r := NewRequant(tc.mode, 0.25, []float32{2}, 1, 10, -128, 127, false)
		if got := r.Apply(tc.acc, 0); got != tc.want {
			t.Errorf("%v Apply(%d) = %d, want %d", tc.mode, tc.acc, got, tc.want)
		}
	}
}

func TestActivationRange(t *testing.T) {
	// scale 0.05, zp -10: Quantize(6) = -10 + 120 = 110; Quantize(±1) = -10 ± 20.
	type r struct{ Lo, Hi int32 }
	tests := []struct {
		act  Activation
		want r
	}{
		{ActNone, r{-128, 127}},
		{ActRelu, r{-10, 127}},
		{ActRelu6, r{-10, 110}},
		{ActReluN1To1, r{-30, 10}},
	}
	for _, tc := range tests {
		lo, hi := ActivationRange(tc.act, 0.05, -10)
		if diff := cmp.Diff(tc.want, r{lo, hi}); diff != "" {
			t.Errorf("act %d (-want +got):\n%s", tc.act, diff)
		}
	}
}

func TestOutSize(t *testing.T) {
	type r struct{ Out, Before int }
	tests := []struct {
		pad                Padding
		in, k, stride, dil int
		want               r
	}{
		{PadSame, 96, 3, 2, 1, r{48, 0}}, // total = 47*2+3-96 = 1 -> before 0
		{PadSame, 5, 3, 1, 1, r{5, 1}},   // total 2
		{PadValid, 5, 3, 1, 1, r{3, 0}},  // (5-3+1)/1
		{PadValid, 6, 3, 2, 1, r{2, 0}},  // (6-3+2)/2 = 2
		{PadSame, 7, 3, 1, 2, r{7, 2}},   // eff 5, total 4
		{PadValid, 2, 3, 1, 1, r{0, 0}},  // window larger than input
	}
	for _, tc := range tests {
		o, b := OutSize(tc.pad, tc.in, tc.k, tc.stride, tc.dil)
		if diff := cmp.Diff(tc.want, r{o, b}); diff != "" {
			t.Errorf("OutSize%v (-want +got):\n%s", tc, diff)
		}
	}
}

// A 3x3 image 1..9 convolved with a 3x3 filter of ones, SAME padding: each
// output is the sum of its in-bounds neighbourhood.
var sums3x3 = []int32{12, 21, 16, 27, 45, 33, 24, 39, 28}

func TestConv2D(t *testing.T) {
	s := ConvShape{Batch: 1, InH: 3, InW: 3, InC: 1, OutH: 3, OutW: 3, OutC: 1, KH: 3, KW: 3,
		StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1}
	inF := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	ones := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	gotF := make([]float32, 9)
	Conv2DFloat(s, inF, ones, []float32{0.5}, -100, 100, gotF)
	wantF := make([]float32, 9)
	for i, v := range sums3x3 {
		wantF[i] = float32(v) + 0.5
	}
	if diff := cmp.Diff(wantF, gotF); diff != "" {
		t.Errorf("float (-want +got):\n%s", diff)
	}
	// int8: stored 0..8 with zero point -1 stands for 1..9; bias -12; scale 1;
	// output zp 3; RELU6-style clamp at 40 shows the clamp.
	inQ := []int8{0, 1, 2, 3, 4, 5, 6, 7, 8}
	onesQ := []int8{1, 1, 1, 1, 1, 1, 1, 1, 1}
	for _, mode := range []Mode{XNNPack, Reference} {
		rq := NewRequant(mode, 1, []float32{1}, 1, 3, -128, 40, false)
		got := make([]int8, 9)
		Conv2DInt8(s, inQ, -1, onesQ, []int32{-12}, rq, got)
		want := make([]int8, 9)
		for i, v := range sums3x3 {
			want[i] = int8(min(v-12+3, 40))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%v int8 (-want +got):\n%s", mode, diff)
		}
	}
}

func TestDepthwiseConv2D(t *testing.T) {
	// One input channel, depth multiplier 2: channel 0 filter all 1, channel 1
	// all 2 (interleaved [1,3,3,2]).
	s := ConvShape{Batch: 1, InH: 3, InW: 3, InC: 1, OutH: 3, OutW: 3, OutC: 2, KH: 3, KW: 3,
		StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, DepthMultiplier: 2}
	filt := make([]int8, 18)
	filtF := make([]float32, 18)
	for i := range 9 {
		filt[2*i], filt[2*i+1] = 1, 2
		filtF[2*i], filtF[2*i+1] = 1, 2
	}
	got := make([]int8, 18)
	rq := NewRequant(XNNPack, 1, []float32{1, 0.5}, 1, 0, -128, 127, false)
	DepthwiseConv2DInt8(s, []int8{0, 1, 2, 3, 4, 5, 6, 7, 8}, -1, filt, nil, rq, got)
	gotF := make([]float32, 18)
	DepthwiseConv2DFloat(s, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, filtF, nil, -1000, 1000, gotF)
	want := make([]int8, 18)
	wantF := make([]float32, 18)
	for i, v := range sums3x3 {
		want[2*i], want[2*i+1] = int8(v), int8(v) // channel 1: 2*sum*0.5
		wantF[2*i], wantF[2*i+1] = float32(v), float32(2*v)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("int8 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantF, gotF); diff != "" {
		t.Errorf("float (-want +got):\n%s", diff)
	}
}

func TestFullyConnected(t *testing.T) {
	// x = [1,2,3] (stored with zp 1 as [2,3,4]); w rows [1,0,-1], [2,2,2].
	// acc = [-2, 12]; bias [1, -2] -> [-1, 10]; scale 0.5 -> [-0.5, 5].
	// XNNPACK: -0.5 -> -0 (half even); reference: SRDHM(-1, 2^30) = (-2^30 + 1 - 2^30)/2^31 -> 0.
	w := []int8{1, 0, -1, 2, 2, 2}
	for _, mode := range []Mode{XNNPack, Reference} {
		got := make([]int8, 2)
		rq := NewRequant(mode, 0.5, []float32{1}, 1, 0, -128, 127, true)
		FullyConnectedInt8(1, 3, 2, []int8{2, 3, 4}, 1, w, 0, []int32{1, -2}, rq, got)
		if diff := cmp.Diff([]int8{0, 5}, got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", mode, diff)
		}
	}
	gotF := make([]float32, 4)
	FullyConnectedFloat(2, 3, 2, []float32{1, 2, 3, -1, -2, -3}, []float32{1, 0, -1, 2, 2, 2}, []float32{1, -2}, 0, 100, gotF)
	if diff := cmp.Diff([]float32{0, 10, 3, 0}, gotF); diff != "" {
		t.Errorf("float (-want +got):\n%s", diff)
	}
}

func TestPools(t *testing.T) {
	s := ConvShape{Batch: 1, InH: 2, InW: 2, InC: 2, OutH: 1, OutW: 1, OutC: 2, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	in := []int8{1, -1, 2, -2, 3, -3, 5, -5}
	got := make([]int8, 2)
	AvgPoolInt8(s, in, -128, 127, got)
	// sum 11 -> (11+2)/4 = 3; sum -11 -> (-11-2)/4 = -3 (C truncation)
	if diff := cmp.Diff([]int8{3, -3}, got); diff != "" {
		t.Errorf("avg (-want +got):\n%s", diff)
	}
	MaxPoolInt8(s, in, -128, 127, got)
	if diff := cmp.Diff([]int8{5, -1}, got); diff != "" {
		t.Errorf("max (-want +got):\n%s", diff)
	}
	gotF := make([]float32, 2)
	AvgPoolFloat(s, []float32{1, -1, 2, -2, 3, -3, 5, -5}, -10, 10, gotF)
	if diff := cmp.Diff([]float32{2.75, -2.75}, gotF); diff != "" {
		t.Errorf("avg float (-want +got):\n%s", diff)
	}
}

func TestSoftmaxInt8(t *testing.T) {
	// s_in = 0.1: row [10, 0] is a real difference of 1.0;
	// p0 = 1/(1+e^-1) = 0.7310586 -> 187.15*... 0.7310586*256 = 187.15 -> 187 - 128 = 59,
	// p1 = 0.2689414*256 = 68.85 -> 69 - 128 = -59. Equal inputs give 128 - 128 = 0.
	tab := NewSoftmaxTable(0.1, 1)
	got := make([]int8, 4)
	SoftmaxInt8(tab, []int8{10, 0, -7, -7}, 2, 1.0/256, -128, got)
	if diff := cmp.Diff([]int8{59, -59, 0, 0}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLogisticLUT(t *testing.T) {
	// s_in = 1/16: q=16 is x=1 -> 0.7310586*256 = 187.15 -> 59; q=0 -> 128-128 = 0;
	// q=-128 is x=-8 -> 0.0859 -> 0 -> -128; q=127 -> 255.9 -> 256 -> clamp 127.
	lut := NewLUT(1.0/16, 0, 1.0/256, -128, Logistic)
	got := make([]int8, 4)
	lut.Apply([]int8{16, 0, -128, 127}, got)
	if diff := cmp.Diff([]int8{59, 0, -128, 127}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAddInt8(t *testing.T) {
	// All scales 1, zp 0: m1 = m2 = QM(0.5) = (2^30,0), mo = QM(2^-19) = (2^30,-18);
	// 3<<20 -> 1572864, 4<<20 -> 2097152, sum 3670016 -> SRDHM 1835008 -> >>18 = 7.
	p := NewAddParams(1, 0, 1, 0, 1, 0, -128, 127, false)
	if got := p.Apply(3, 4); got != 7 {
		t.Errorf("3+4 = %d", got)
	}
	p.Sub = true
	if got := p.Apply(3, 4); got != -1 {
		t.Errorf("3-4 = %d", got)
	}
	// zero points and saturation: (100-(-20)) + (100-10) = 210 -> clamp 127
	p = NewAddParams(1, -20, 1, 10, 1, 0, -128, 127, false)
	if got := p.Apply(100, 100); got != 127 {
		t.Errorf("saturating add = %d", got)
	}
}

func TestMulInt8(t *testing.T) {
	// (6-2)*(3-0) = 12; scale 0.25*2/1 = 0.5 -> 6 (+zp 1) = 7; 5*3 = 15 * 0.5 = 7.5 -> 8 (both modes).
	for _, mode := range []Mode{XNNPack, Reference} {
		p := NewMulParams(mode, 0.25, 2, 2, 0, 1, 1, -128, 127)
		if got := p.Apply(6, 3); got != 7 {
			t.Errorf("%v: 6*3 = %d", mode, got)
		}
		if got := p.Apply(7, 3); got != 9 {
			t.Errorf("%v: 7*3 = %d", mode, got)
		}
	}
}

func TestBroadcast(t *testing.T) {
	type pair struct{ O, A, B int }
	tests := []struct {
		name      string
		a, b      []int
		wantShape []int
		want      []pair
	}{
		{"row", []int{2, 3}, []int{3}, []int{2, 3},
			[]pair{{0, 0, 0}, {1, 1, 1}, {2, 2, 2}, {3, 3, 0}, {4, 4, 1}, {5, 5, 2}}},
		{"outer", []int{2, 1}, []int{1, 3}, []int{2, 3},
			[]pair{{0, 0, 0}, {1, 0, 1}, {2, 0, 2}, {3, 1, 0}, {4, 1, 1}, {5, 1, 2}}},
		{"scalar", []int{2}, []int{}, []int{2}, []pair{{0, 0, 0}, {1, 1, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bc, shape, ok := NewBroadcast(tc.a, tc.b)
			if !ok {
				t.Fatal("not broadcastable")
			}
			var got []pair
			bc.Each(func(o, a, b int) { got = append(got, pair{o, a, b}) })
			if diff := cmp.Diff(tc.wantShape, shape); diff != "" {
				t.Errorf("shape (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pairs (-want +got):\n%s", diff)
			}
		})
	}
	if _, _, ok := NewBroadcast([]int{2, 3}, []int{2}); ok {
		t.Error("[2,3] vs [2] should not broadcast")
	}
}

func TestQuantizeDequantize(t *testing.T) {
	in := []float32{0.25, -0.25, 0.75, 100, -100}
	got := make([]int8, 5)
	QuantizeFloat(in, 0.5, 0, got) // std::round: 0.5 -> 1, -0.5 -> -1, 1.5 -> 2
	if diff := cmp.Diff([]int8{1, -1, 2, 127, -128}, got); diff != "" {
		t.Errorf("round half away (-want +got):\n%s", diff)
	}
	QuantizeFloatXNN(in, 0.5, 0, got) // half even: 0, 0, 2
	if diff := cmp.Diff([]int8{0, 0, 2, 127, -128}, got); diff != "" {
		t.Errorf("round half even (-want +got):\n%s", diff)
	}
	f := make([]float32, 2)
	Dequantize([]int8{3, -128}, 0.5, 1, f)
	if diff := cmp.Diff([]float32{1, -64.5}, f); diff != "" {
		t.Errorf("dequantize (-want +got):\n%s", diff)
	}
}

func TestRequantizeLUT(t *testing.T) {
	// s_in/s_out = 0.625 exactly. XNNPACK: M = 160, ((q-zp)*160 + 128) >> 8:
	// -60 -> (-9600+128)>>8 = -37 (floor -36.97); 60 -> 9728>>8 = 38;
	// -59 -> -9312>>8 = -37 (floor -36.375). Output zp 5 added.
	at := func(l *LUT, q int8) int8 { return l[uint8(q)] }
	x := NewRequantizeLUT(XNNPack, 0.625, 0, 1, 5)
	got := []int8{at(x, -60), at(x, 60), at(x, -59)}
	if diff := cmp.Diff([]int8{-32, 43, -32}, got); diff != "" {
		t.Errorf("xnnpack (-want +got):\n%s", diff)
	}
	// Reference: MBQM(-60, QM(0.625)) = SRDHM(-60, 1342177280) = trunc(-37.99..) = -37;
	// 60 -> (80530636800 + 2^30)/2^31 = 38; -59 -> -36.875 -> trunc(-37.37) = -37.
	r := NewRequantizeLUT(Reference, 0.625, 0, 1, 5)
	got = []int8{at(r, -60), at(r, 60), at(r, -59)}
	if diff := cmp.Diff([]int8{-32, 43, -32}, got); diff != "" {
		t.Errorf("reference (-want +got):\n%s", diff)
	}
	// Ratios outside [2^-8, 2^7] use TFLite's formula in both modes:
	// 0.001: 127*0.001 -> 0; 300: 1*300 -> clamp 127.
	if a, b := NewRequantizeLUT(XNNPack, 300, 0, 1, 0), NewRequantizeLUT(Reference, 300, 0, 1, 0); *a != *b || a[1] != 127 || a[0] != 0 {
		t.Errorf("ratio 300: xnnpack %v..., reference %v...", a[:4], b[:4])
	}
}
