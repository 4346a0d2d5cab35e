package kernels

import (
	"math"
)

// SaturatingRoundingDoublingHighMul returns the high 32 bits of 2*a*b with
// rounding, saturating the one overflowing case (a == b == MinInt32), as
// gemmlowp's fixedpoint.h defines it.
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	return int32((ab + nudge) / (1 << 31))
}

// RoundingDivideByPOT divides x by 2^e, rounding half away from zero
// (0 <= e <= 31).
func RoundingDivideByPOT(x int32, e int) int32 {
	mask := int32((int64(1) << e) - 1)
	rem := x & mask
	thr := mask >> 1
	if x < 0 {
		thr++
	}
	r := x >> e
	if rem > thr {
		r++
	}
	return r
}

// MultiplyByQuantizedMultiplier computes x * m * 2^shift / 2^31 with TFLite's
// default double rounding (a left shift, SRDHM, then a rounding right shift).
func MultiplyByQuantizedMultiplier(x, m int32, shift int) int32 {
	left, right := 0, 0
	if shift > 0 {
		left = shift
	} else {
		right = -shift
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x*(int32(1)<<left), m), right)
}

// QuantizeMultiplier splits a real multiplier d into a Q31 fixed-point
// mantissa and a power-of-two exponent (positive = left shift), so that
// d ≈ m * 2^shift / 2^31, as TFLite's quantization_util.cc does.
func QuantizeMultiplier(d float64) (m int32, shift int) {
	if d == 0 {
		return 0, 0
	}
	q, e := math.Frexp(d)
	qf := roundHalfAway64(q * (1 << 31))
	if qf == 1<<31 {
		qf /= 2
		e++
	}
	if e < -31 {
		return 0, 0
	}
	return int32(qf), e
}

// roundHalfAway64 is C's llround: half away from zero.
func roundHalfAway64(x float64) int64 { return int64(math.Round(x)) }

// RoundHalfAway32 is std::round on a float: half away from zero.
func RoundHalfAway32(x float32) float32 { return float32(math.Round(float64(x))) }

// RoundHalfEven32 rounds to nearest, ties to even, as XNNPACK's magic-bias
// and lrintf rounding do.
func RoundHalfEven32(x float32) float32 { return float32(math.RoundToEven(float64(x))) }

// ActivationRange returns the int8 clamp range of a fused activation for an
// output with the given scale and zero point (TFLite kernel_util.cc).
func ActivationRange(act Activation, scale float32, zp int32) (lo, hi int32) {
	quant := func(f float32) int32 { return zp + int32(RoundHalfAway32(f/scale)) }
	lo, hi = -128, 127
	switch act {
	case ActRelu:
		lo = max(lo, zp)
	case ActRelu6:
		lo = max(lo, zp)
		hi = min(hi, quant(6))
	case ActReluN1To1:
		lo = max(lo, quant(-1))
		hi = min(hi, quant(1))
	}
	return lo, hi
}

// FloatActivationRange returns the float clamp range of a fused activation.
func FloatActivationRange(act Activation) (lo, hi float32) {
	inf := float32(math.Inf(1))
	switch act {
	case ActRelu:
		return 0, inf
	case ActRelu6:
		return 0, 6
	case ActReluN1To1:
		return -1, 1
	}
	return -inf, inf
}

// Activation is a fused activation function, numbered as in the TFLite schema.
type Activation int

// Fused activations (schema ActivationFunctionType).
const (
	ActNone      Activation = 0
	ActRelu      Activation = 1
	ActReluN1To1 Activation = 2
	ActRelu6     Activation = 3
	ActTanh      Activation = 4
	ActSignBit   Activation = 5
)

// Mode selects how int8 accumulators are requantized.
type Mode int

const (
	// XNNPack requantizes in float32 with round-half-even, as the official
	// runtime's default build (XNNPACK delegate) does for int8 FULLY_CONNECTED,
	// CONV_2D, DEPTHWISE_CONV_2D and ADD.
	XNNPack Mode = iota
	// Reference uses gemmlowp fixed-point double rounding, as the TFLite and
	// TFLite Micro reference kernels do.
	Reference
)

func (m Mode) String() string {
	if m == Reference {
		return "reference"
	}
	return "xnnpack"
}

// Requant turns int32 accumulators of one layer into int8 outputs. Scale,
// Mult and Shift have one entry per output channel (or one for per-tensor
// quantization).
type Requant struct {
	Mode     Mode
	Mult     []int32   // Reference: Q31 multipliers
	Shift    []int     // Reference: exponents
	Scale    []float32 // XNNPack: float32(float32(s_in*s_w)/s_out)
	ZP       int32
	Min, Max int32
}

// NewRequant derives both forms of a layer's requantization from the input
// scale, the weight scales (one per output channel, or one) and the output
// scale. perTensorFloatProduct selects TFLite's per-tensor multiplier, where
// s_in*s_w is computed in float before the division in double.
func NewRequant(mode Mode, sIn float32, sW []float32, sOut float32, zp, lo, hi int32, perTensorFloatProduct bool) *Requant {
	r := &Requant{Mode: mode, ZP: zp, Min: lo, Max: hi,
		Mult: make([]int32, len(sW)), Shift: make([]int, len(sW)), Scale: make([]float32, len(sW))}
	for c, w := range sW {
		var d float64
		if perTensorFloatProduct {
			d = float64(sIn*w) / float64(sOut)
		} else {
			d = float64(sIn) * float64(w) / float64(sOut)
		}
		r.Mult[c], r.Shift[c] = QuantizeMultiplier(d)
		r.Scale[c] = float32(float32(sIn*w) / sOut)
	}
	return r
}

// Apply requantizes one accumulator of output channel c.
func (r *Requant) Apply(acc int32, c int) int8 {
	var v int32
	if r.Mode == XNNPack {
		// Clamp in float first (as XNNPACK does) so the conversion is defined.
		f := float32(acc) * r.Scale[c]
		f = min(max(f, float32(r.Min-r.ZP)), float32(r.Max-r.ZP))
		return int8(int32(RoundHalfEven32(f)) + r.ZP)
	} else {
		v = MultiplyByQuantizedMultiplier(acc, r.Mult[c], r.Shift[c]) + r.ZP
	}
	return int8(min(max(v, r.Min), r.Max))
}
