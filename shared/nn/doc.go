// Package nn trains the pipeline's models in pure Go: a multilayer perceptron
// teacher, a smaller student distilled from it, magnitude pruning of the
// student, and export to a float32 TensorFlow Lite model that takes raw
// feature values.
//
// # Data and tasks
//
// Inputs are rows of raw float64 feature values (Split); labels are class
// indices 0..C-1 (Multiclass), 0/1 (Binary) or target values (Regression).
// Features are standardized with a Normalization (mean and population
// standard deviation per feature, computed from the train split unless the
// caller passes featurize's). Regression targets are standardized with the
// train split's mean and standard deviation too; losses reported for
// regression are on that scale.
//
// # Network and training
//
// Fully connected layers with ReLU between them, and a head per task:
// softmax with cross-entropy (Multiclass), one logit with sigmoid and binary
// cross-entropy (Binary), one linear output with squared error (Regression).
// Hidden layers start He-normal, the output layer Glorot-uniform, biases at
// zero, all drawn from a math/rand/v2 PCG source seeded by Config.Seed, which
// also shuffles the mini-batches each epoch: the same data and config give
// identical weights. Adam (optionally AdamW weight decay) minimizes the mean
// loss of each mini-batch. After each epoch the task loss on the val split is
// measured; training stops when it has not improved for Patience epochs and
// the best epoch's weights are restored. Progress is reported through
// Config.Progress; cancelling ctx stops training within one mini-batch.
//
// # Distillation
//
// Distill trains a student on the teacher's soft targets (Hinton, Vinyals
// and Dean 2015, "Distilling the Knowledge in a Neural Network"):
//
//	loss = alpha·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1-alpha)·CE(softmax(s), y)
//
// with t the teacher's logits and s the student's. Binary uses the same form
// over the two-class distributions (1-σ(z/T), σ(z/T)) and binary
// cross-entropy; regression mixes alpha·(s-t)² + (1-alpha)·(s-y)² on the
// standardized target. Defaults: T = 4, alpha = 0.7 (DefaultTemperature,
// DefaultAlpha), a common starting point: T high enough that the teacher's
// ranking of the wrong classes carries signal, most weight on the soft part.
// Early stopping watches the student's hard-label loss on val.
//
// # Pruning
//
// Prune zeroes the smallest-magnitude weights (biases are kept) up to a
// target sparsity along the gradual schedule of Zhu and Gupta (2017), with
// fine-tuning between steps and after the last, the pruned weights held at
// zero. Scope PerLayer (the default) prunes every layer by the same fraction;
// Global ranks all weights together. With PruneConfig.Teacher set,
// fine-tuning uses the distillation loss. The report records the parameter
// count, the nonzero count and the sparsity, overall and per layer.
//
// # Export
//
// Model.TFLite folds the normalization into the first layer (and, for
// regression, the target scaling into the last) and writes FULLY_CONNECTED
// layers with fused RELU, then SOFTMAX, LOGISTIC or nothing. The input is
// FLOAT32 [1, features] with shape signature [-1, features]. Model.Predict
// computes the same outputs in Go (float64); the tests check them against
// the official TFLite runtime (testdata/oracle). Folding costs float32
// precision for a feature whose mean is large against its standard deviation
// (a year around 2000 with a spread of 5): the folded bias carries
// W·mean/std, whose float32 rounding (about 6e-8 of it) reaches the output.
// The float32 input itself already limits such a feature to a similar
// resolution, so this is a property of float32 serving, not of folding alone.
//
// A Model is also plain JSON
// (json.Marshal, Load), which is how the distill step reads its teacher.
package nn
