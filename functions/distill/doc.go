// Package distill is the fourth function of the chain: knowledge distillation
// and magnitude pruning.
//
// Trigger: a message on model-trained (published by train), entry point
// Distill.
//
// Work: a smaller student (MEGA_STUDENT_HIDDEN) trained on the teacher's soft
// targets, temperature T (MEGA_DISTILL_TEMPERATURE, default 4) and weight
// alpha (MEGA_DISTILL_ALPHA, default 0.7) on the soft part, scaled by T^2, as
// in Hinton et al. 2015; then gradual magnitude pruning per layer to
// MEGA_SPARSITY (default 0.5) with fine-tuning under the same loss and the
// mask held. Scored on the test split; exported as float32 .tflite.
//
// Outputs (runs/<run>/distill/): student.json, student.tflite,
// student_metrics.json. The model version gains the student artifact and
// metrics (parameter count, nonzero count, sparsity).
//
// Publishes model-distilled. A replayed model-trained event is recognized by
// the ledger and has no effect; a re-run (`mega trigger distill`) updates the
// same version.
package distill
