// Package eval computes the evaluation metrics Megapipe reports for a model
// on its test split: accuracy, macro F1, confusion matrix, ROC AUC and log
// loss for classifiers; RMSE, MAE and R² for regressors.
//
// Every metric is defined as scikit-learn 1.9 defines it, and the tests check
// the values against scikit-learn's own (testdata/golden.py writes them):
//
//   - MacroF1 averages F1 = 2TP/(2TP+FP+FN) over the classes that occur in
//     the true or the predicted labels (scikit-learn's default labels).
//   - ROCAUC is the area under the ROC curve with tied scores forming one
//     threshold (a diagonal step), as roc_auc_score; it is undefined, and an
//     error, when only one class is present.
//   - LogLoss clips probabilities to [eps, 1-eps] with eps the float64
//     machine epsilon, and does not renormalize rows.
//   - R2 is 1 - SS_res/SS_tot; with a constant truth it is 1 for a perfect
//     prediction and 0 otherwise (scikit-learn's force_finite).
//
// Classes are the integers 0..C-1; binary problems use 0 and 1.
package eval
