// Package quantize is the fifth function of the chain: full-integer int8
// post-training quantization, the benchmark, and the gate.
//
// Triggers (entry point Quantize):
//   - a message on model-distilled (published by distill): the float student
//     is quantized with the val split as calibration data;
//   - an object finalized in the models bucket: a float .tflite a person
//     trained elsewhere, at <model>/<file>.tflite, with its calibration rows
//     beside it at <model>/<file>.calib.csv (raw feature values, one row per
//     line, a header line; upload it first). Other objects there are ignored.
//
// Work: shared/quant quantizes (per-channel symmetric int8 weights, asymmetric
// int8 activations from calibration ranges, int32 bias; float model I/O unless
// MEGA_MODEL_IO=int8); shared/benchmark measures teacher, student and int8 side
// by side on the test split (size, metrics, agreement with the student,
// latency per inference in the Go runtime). The gate passes when the int8
// model's test accuracy is at most MEGA_GATE_BOUND (default 0.01 = one point)
// below the float student's (relative RMSE increase for regression; for a
// dropped model without labels, the share of calibration rows where int8 and
// float disagree).
//
// Outputs (runs/<run>/quantize/): int8.tflite, benchmark.json. The registry
// version gains the int8 artifact, the features spec, metrics, the benchmark
// and the gate verdict.
//
// Publishes model-quantized when the gate passes; otherwise the run ends
// "rejected" with the reason and nothing is deployed.
package quantize
