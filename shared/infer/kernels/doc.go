// Package kernels holds the arithmetic of Megapipe's TFLite interpreter as
// pure functions over slices: the gemmlowp fixed-point primitives
// (SaturatingRoundingDoublingHighMul, RoundingDivideByPOT,
// MultiplyByQuantizedMultiplier, QuantizeMultiplier), the two int8
// requantization modes (Reference: gemmlowp double rounding as the TFLite and
// TFLite Micro reference kernels; XNNPack: float32 scale with round half to
// even, as the official runtime's default XNNPACK delegate), and the float32
// and int8 kernels (convolutions, fully connected, pools, softmax, lookup
// tables, broadcasting element-wise ops, quantize and dequantize).
//
// The formulas follow ../shared/docs/tflite-int8-arithmetic.md (facts from
// the LiteRT / TFLite sources; no code was copied). Data is NHWC, filters are
// [OC,KH,KW,IC] for CONV_2D and [1,KH,KW,IC*M] for DEPTHWISE_CONV_2D.
package kernels
