// Package quant turns a float32 TFLite model into a full-integer int8 model
// (post-training quantization), following the TFLite quantization spec:
//
//   - Activations: int8, asymmetric, per tensor. The range [min, max] comes
//     from calibration (running the float model through shared/infer over
//     calibration rows and recording every activation's minimum and maximum)
//     or, without calibration rows, from the min/max stored in the model's
//     QuantizationParameters (as the converter's test models carry). The
//     range is widened to include 0; scale = (max-min)/255 and
//     zero point = round(-128 - min/scale), clamped to [-128, 127].
//   - Weights: int8, symmetric (zero point 0), per channel: FULLY_CONNECTED
//     and CONV_2D along dimension 0, DEPTHWISE_CONV_2D along dimension 3.
//     scale_c = max|w_c|/127 and q = clamp(round(w * (127/max|w_c|)), -127, 127).
//   - Bias: int32 with scale s_in*s_w[c] and zero point 0.
//   - SOFTMAX and LOGISTIC outputs: scale 1/256, zero point -128; TANH:
//     1/128 and 0.
//   - AVERAGE_POOL_2D, MAX_POOL_2D, RESHAPE, SQUEEZE, PAD and CONCATENATION
//     share one scale and zero point between their inputs and outputs: the
//     tensors tied this way get the union of their ranges.
//   - Other float constants (an ADD or MUL operand) become per-tensor
//     asymmetric int8 over their own values.
//   - Operator versions are set as TFLite's op_version rules give for int8
//     (CONV_2D 3, DEPTHWISE_CONV_2D 3, FULLY_CONNECTED 4, SOFTMAX 2,
//     AVERAGE_POOL_2D 2, ADD 2, ...).
//   - Model inputs and outputs stay float32 (a QUANTIZE op in front, a
//     DEQUANTIZE op behind) or become int8, by Options.IO.
//
// Input equalization. A model that takes raw feature values, with the
// normalization folded into its first FULLY_CONNECTED (as shared/nn
// exports), has input features whose ranges differ by orders of magnitude;
// one int8 scale for the whole input rounds the small features to zero
// (on such a model the int8 probabilities were off by up to 0.97). With
// float I/O and calibration rows, when the widest feature range is more than
// 4 times the narrowest and the input only feeds FULLY_CONNECTED data
// inputs, Quantize adds two float ops in front, x' = x*inv + off per feature
// (so every feature spans [-1, 1]), and folds the inverse rescaling into the
// FC weights and bias; x' is then quantized as usual. Report.EqualizedInputs
// names such inputs; Options.NoInputEqualization turns it off. Int8 I/O
// cannot do this: the caller quantizes the input with one scale.
//
// Converter output (shared constants, shape subgraphs, the extra data
// movement and elementwise operators) is handled as converter.go describes;
// the test models come from shared/infer/testdata/zoo.
//
// The result loads in the official runtime, and its int8 outputs equal those
// of shared/infer in xnnpack mode (see the tests and testdata/).
package quant
