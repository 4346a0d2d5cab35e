package nn

import (
	"fmt"

	"github.com/megapipe/mega/shared/eval"
)

// Scores are a model's metrics on one split: Classification for multiclass
// and binary models, Regression for regression models.
type Scores struct {
	Classification *eval.Classification `json:"classification,omitempty"`
	Regression     *eval.Regression     `json:"regression,omitempty"`
}

// Evaluate runs the model on a split and scores its predictions with
// shared/eval (accuracy, macro F1, log loss, confusion matrix and, for
// binary models, ROC AUC; or RMSE, MAE and R²).
func (m *Model) Evaluate(s Split) (Scores, error) {
	if err := m.Validate(); err != nil {
		return Scores{}, fmt.Errorf("evaluate: %w", err)
	}
	if err := checkSplit("evaluated", s, m.Task, m.Inputs, m.Classes); err != nil {
		return Scores{}, fmt.Errorf("evaluate: %w", err)
	}
	pred, err := m.Predict(s.X)
	if err != nil {
		return Scores{}, fmt.Errorf("evaluate: %w", err)
	}
	if m.Task == Regression {
		p := make([]float64, len(pred))
		for i, r := range pred {
			p[i] = r[0]
		}
		r, err := eval.Regress(s.Y, p)
		if err != nil {
			return Scores{}, fmt.Errorf("evaluate: %w", err)
		}
		return Scores{Regression: &r}, nil
	}
	y := make([]int, len(s.Y))
	for i, v := range s.Y {
		y[i] = int(v)
	}
	if m.Task == Binary {
		for i, r := range pred {
			pred[i] = []float64{1 - r[0], r[0]}
		}
	}
	c, err := eval.Classify(y, pred)
	if err != nil {
		return Scores{}, fmt.Errorf("evaluate: %w", err)
	}
	return Scores{Classification: &c}, nil
}

// Float64Rows converts float32 rows (as read from a float32 matrix) to the
// float64 rows this package takes.
func Float64Rows(x [][]float32) [][]float64 {
	out := make([][]float64, len(x))
	for i, r := range x {
		out[i] = make([]float64, len(r))
		for j, v := range r {
			out[i][j] = float64(v)
		}
	}
	return out
}
