// Package train is the third function of the chain: it trains the teacher.
//
// Trigger: a message on features-ready (published by featurize), entry point
// Train.
//
// Inputs: features.json (the spec and split) and the clean rows.
//
// Work: an MLP teacher in pure Go (shared/nn: hidden sizes from
// MEGA_TEACHER_HIDDEN, ReLU, softmax / sigmoid / linear head by task, Adam,
// mini-batches, early stopping on the val split, seeded by MEGA_SEED), scored
// on the test split, exported as a float32 .tflite with the normalization
// folded in (so it takes raw feature values). The reference profile gains the
// model's prediction distribution on the train split. The model version is
// registered in the registry, keyed by run, so a replay registers nothing new.
//
// Backends (MEGA_TRAIN_BACKEND): local trains here. kubeflow submits the
// Kubeflow pipeline (featurize -> train -> distill -> quantize as `mega step`
// containers) and returns; the pipeline's last step publishes model-quantized,
// and the chain continues exactly as with the local backend.
//
// Outputs (runs/<run>/train/): teacher.json (weights), teacher.tflite,
// teacher_metrics.json, reference.json (with predictions).
//
// Publishes model-trained with the model name (the dataset) and version.
package train
