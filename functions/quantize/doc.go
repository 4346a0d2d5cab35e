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
// float disagree). For a trained version the gate also guards quality
// (issue 17), each check a setting of shared/config and each verdict in
// benchmark.json ("gate".checks), the registry version and mega models:
//   - baseline: the int8 model must beat the baseline that ignores its
//     inputs (the training split's majority class, scored on the test split,
//     or the training mean for regression) by MEGA_GATE_BASELINE_MARGIN
//     (0.02 = two points; relative RMSE for regression);
//   - teacher: the float student must stay within MEGA_GATE_TEACHER_BOUND
//     (0.05 = five points) of the teacher;
//   - champion: when another version serves, the int8 model must not be
//     worse than the serving model by more than MEGA_GATE_CHAMPION_BOUND
//     (default 0), both scored on the serving version's own test rows (its
//     run's clean rows split by its features spec, encoded by each version's
//     spec). When there is nothing to compare (no serving version, another
//     task, rows that do not fit the new features) the check is skipped with
//     the reason; an outage reading the serving version is retried.
//
// Outputs (runs/<run>/quantize/): int8.tflite, benchmark.json. The registry
// version gains the int8 artifact, the features spec, metrics, the benchmark
// and the gate verdict.
//
// Publishes model-quantized when the gate passes; otherwise the run ends
// "rejected" with the reason and nothing is deployed.
package quantize
