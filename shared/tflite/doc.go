// Package tflite reads and writes TensorFlow Lite models (flatbuffers, schema
// version 3, file identifier "TFL3") as a plain Go Model.
//
// Parse validates everything it reads: every flatbuffer offset, vtable and
// vector length is checked against the input before use, decoded memory is
// bounded by a multiple of the input size, and indices, shapes against
// constant buffers, and quantization parameters are checked. Errors are
// *FormatError values naming the bad field, wrapping sentinels such as
// ErrTruncated, ErrBadIdentifier or ErrOutOfRange.
//
// Marshal writes files the official TFLite runtime loads. Builder assembles a
// model in Go (used by the trainer's export and the quantizer).
//
// Quirks of real files that this package accepts:
//   - Older converters set only deprecated_builtin_code; OperatorCode.Builtin
//     is the larger of it and builtin_code. Marshal writes both.
//   - person_detect.tflite has 1-D bias tensors with quantized_dimension 3.
//     Parse keeps the value; Quantization.Axis reads a per-channel 1-D tensor
//     with an out-of-range dimension as axis 0, which is what TFLite Micro does
//     (full TFLite rejects such files).
//   - shape_signature with -1 entries is kept in Tensor.ShapeSignature.
//   - Buffers stored outside the flatbuffer (the offset/size fields of models
//     over 2 GB) are read into memory when they lie inside the given bytes;
//     Marshal writes every buffer inline and refuses models over 2 GB.
//
// Not supported (rejected with ErrUnsupported): sparse tensors, variant
// tensors, external weight files, quantization details (blockwise),
// builtin_options_2 and mutating variable inputs. Builtin options of types
// without a Go struct here are kept as *OtherOptions; Marshal refuses them if
// they carried fields.
package tflite
