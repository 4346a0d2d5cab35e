// Package features turns clean dataset rows into model inputs, the same way in
// training and in serving.
//
// A Spec is written by featurize and read by train, distill, quantize and the
// inference service. It fixes:
//   - the split: a row goes to train, val or test by its content hash
//     (dataset.Frame.RowHash) modulo 100, against the percentages in the
//     spec (80/10/10 by default). The split is a pure function of the row, so
//     it is deterministic, needs no stored index, and the same row lands in
//     the same split in every later drop;
//   - the model's input columns: numeric features as they are, categorical
//     features one-hot over their vocabulary (a missing or unknown category is
//     all zeros);
//   - imputation: a missing numeric value becomes the train-split mean;
//   - the normalization statistics (mean, std per input column on the train
//     split), which the trainer folds into the first layer, so the exported
//     model takes raw values;
//   - the task (binary, multiclass, regression) and class labels.
package features
