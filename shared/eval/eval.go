package eval

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrInput marks inputs a metric cannot be computed on: mismatched lengths,
// no rows, labels out of range, probabilities outside [0, 1], or a single
// class for ROC AUC.
var ErrInput = errors.New("invalid metric input")

func sameLen(op string, a, b int) error {
	if a != b {
		return fmt.Errorf("%s: %d true values and %d predictions: %w", op, a, b, ErrInput)
	}
	if a == 0 {
		return fmt.Errorf("%s: no rows: %w", op, ErrInput)
	}
	return nil
}

func checkLabels(op string, ys ...[]int) error {
	for _, y := range ys {
		for i, v := range y {
			if v < 0 {
				return fmt.Errorf("%s: label %d at row %d is negative: %w", op, v, i, ErrInput)
			}
		}
	}
	return nil
}

// Accuracy is the fraction of rows whose predicted class is the true one.
func Accuracy(yTrue, yPred []int) (float64, error) {
	if err := sameLen("accuracy", len(yTrue), len(yPred)); err != nil {
		return 0, err
	}
	n := 0
	for i := range yTrue {
		if yTrue[i] == yPred[i] {
			n++
		}
	}
	return float64(n) / float64(len(yTrue)), nil
}

// ConfusionMatrix counts rows by true class (row) and predicted class
// (column) for classes 0..classes-1.
func ConfusionMatrix(yTrue, yPred []int, classes int) ([][]int, error) {
	if err := sameLen("confusion matrix", len(yTrue), len(yPred)); err != nil {
		return nil, err
	}
	if classes < 1 {
		return nil, fmt.Errorf("confusion matrix: %d classes: %w", classes, ErrInput)
	}
	m := make([][]int, classes)
	for i := range m {
		m[i] = make([]int, classes)
	}
	for i := range yTrue {
		t, p := yTrue[i], yPred[i]
		if t < 0 || t >= classes || p < 0 || p >= classes {
			return nil, fmt.Errorf("confusion matrix: row %d has labels %d/%d outside 0..%d: %w", i, t, p, classes-1, ErrInput)
		}
		m[t][p]++
	}
	return m, nil
}

// MacroF1 is the unweighted mean of the per-class F1 scores over the classes
// present in yTrue or yPred. A class with no true positive scores 0.
func MacroF1(yTrue, yPred []int) (float64, error) {
	if err := sameLen("macro f1", len(yTrue), len(yPred)); err != nil {
		return 0, err
	}
	if err := checkLabels("macro f1", yTrue, yPred); err != nil {
		return 0, err
	}
	tp, fp, fn := map[int]int{}, map[int]int{}, map[int]int{}
	seen := map[int]bool{}
	for i := range yTrue {
		t, p := yTrue[i], yPred[i]
		seen[t], seen[p] = true, true
		if t == p {
			tp[t]++
		} else {
			fp[p]++
			fn[t]++
		}
	}
	labels := make([]int, 0, len(seen))
	for l := range seen {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	sum := 0.0
	for _, l := range labels {
		sum += 2 * float64(tp[l]) / float64(2*tp[l]+fp[l]+fn[l])
	}
	return sum / float64(len(labels)), nil
}

// ROCAUC is the area under the ROC curve of scores for the positive class 1
// against labels 0/1. Tied scores form one threshold. It needs both classes.
func ROCAUC(yTrue []int, score []float64) (float64, error) {
	if err := sameLen("roc auc", len(yTrue), len(score)); err != nil {
		return 0, err
	}
	idx := make([]int, len(score))
	var pos, neg float64
	for i, y := range yTrue {
		idx[i] = i
		switch y {
		case 0:
			neg++
		case 1:
			pos++
		default:
			return 0, fmt.Errorf("roc auc: label %d at row %d, want 0 or 1: %w", y, i, ErrInput)
		}
		if math.IsNaN(score[i]) {
			return 0, fmt.Errorf("roc auc: score at row %d is NaN: %w", i, ErrInput)
		}
	}
	if pos == 0 || neg == 0 {
		return 0, fmt.Errorf("roc auc: only one class present (%v positives, %v negatives): %w", pos, neg, ErrInput)
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(score[b], score[a]) })
	// Walk thresholds from high to low; the area under each step is a
	// trapezoid in counts, exact in float64.
	var tp, fp, prevTP, prevFP, area float64
	for k := 0; k < len(idx); {
		s := score[idx[k]]
		for ; k < len(idx) && score[idx[k]] == s; k++ {
			if yTrue[idx[k]] == 1 {
				tp++
			} else {
				fp++
			}
		}
		area += (fp - prevFP) * (tp + prevTP) / 2
		prevTP, prevFP = tp, fp
	}
	return area / (pos * neg), nil
}

// LogLoss is the mean negative log-likelihood of the true classes under
// prob, where prob[i][c] is the probability of class c for row i.
func LogLoss(yTrue []int, prob [][]float64) (float64, error) {
	if err := sameLen("log loss", len(yTrue), len(prob)); err != nil {
		return 0, err
	}
	const eps = 0x1p-52
	sum := 0.0
	for i, y := range yTrue {
		p := prob[i]
		if len(p) != len(prob[0]) {
			return 0, fmt.Errorf("log loss: row %d has %d probabilities, row 0 has %d: %w", i, len(p), len(prob[0]), ErrInput)
		}
		if y < 0 || y >= len(p) {
			return 0, fmt.Errorf("log loss: label %d at row %d outside 0..%d: %w", y, i, len(p)-1, ErrInput)
		}
		for _, v := range p {
			if !(v >= 0 && v <= 1) {
				return 0, fmt.Errorf("log loss: probability %v at row %d: %w", v, i, ErrInput)
			}
		}
		sum -= math.Log(min(max(p[y], eps), 1-eps))
	}
	return sum / float64(len(yTrue)), nil
}

// BinaryLogLoss is LogLoss with p[i] the probability of class 1.
func BinaryLogLoss(yTrue []int, p []float64) (float64, error) {
	if err := sameLen("binary log loss", len(yTrue), len(p)); err != nil {
		return 0, err
	}
	prob := make([][]float64, len(p))
	for i, v := range p {
		prob[i] = []float64{1 - v, v}
	}
	l, err := LogLoss(yTrue, prob)
	if err != nil {
		return 0, fmt.Errorf("binary %w", err)
	}
	return l, nil
}

func checkFinite(op string, ys ...[]float64) error {
	for _, y := range ys {
		for i, v := range y {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s: value %v at row %d: %w", op, v, i, ErrInput)
			}
		}
	}
	return nil
}

// RMSE is the root mean squared error.
func RMSE(yTrue, yPred []float64) (float64, error) {
	if err := sameLen("rmse", len(yTrue), len(yPred)); err != nil {
		return 0, err
	}
	if err := checkFinite("rmse", yTrue, yPred); err != nil {
		return 0, err
	}
	s := 0.0
	for i := range yTrue {
		d := yTrue[i] - yPred[i]
		s += d * d
	}
	return math.Sqrt(s / float64(len(yTrue))), nil
}

// MAE is the mean absolute error.
func MAE(yTrue, yPred []float64) (float64, error) {
	if err := sameLen("mae", len(yTrue), len(yPred)); err != nil {
		return 0, err
	}
	if err := checkFinite("mae", yTrue, yPred); err != nil {
		return 0, err
	}
	s := 0.0
	for i := range yTrue {
		s += math.Abs(yTrue[i] - yPred[i])
	}
	return s / float64(len(yTrue)), nil
}

// R2 is the coefficient of determination. It needs at least two rows.
func R2(yTrue, yPred []float64) (float64, error) {
	if err := sameLen("r2", len(yTrue), len(yPred)); err != nil {
		return 0, err
	}
	if len(yTrue) < 2 {
		return 0, fmt.Errorf("r2: %d row, need 2: %w", len(yTrue), ErrInput)
	}
	if err := checkFinite("r2", yTrue, yPred); err != nil {
		return 0, err
	}
	mean := 0.0
	for _, v := range yTrue {
		mean += v
	}
	mean /= float64(len(yTrue))
	var res, tot float64
	for i, v := range yTrue {
		res += (v - yPred[i]) * (v - yPred[i])
		tot += (v - mean) * (v - mean)
	}
	if tot == 0 {
		if res == 0 {
			return 1, nil
		}
		return 0, nil
	}
	return 1 - res/tot, nil
}
