package eval

import "fmt"

// Classification holds a classifier's scores on one split.
type Classification struct {
	Rows      int     `json:"rows"`
	Accuracy  float64 `json:"accuracy"`
	MacroF1   float64 `json:"macro_f1"`
	LogLoss   float64 `json:"log_loss"`
	Confusion [][]int `json:"confusion"`
	// ROCAUC is set for binary classifiers when both classes are present.
	ROCAUC *float64 `json:"roc_auc,omitempty"`
}

// Regression holds a regressor's scores on one split.
type Regression struct {
	Rows int     `json:"rows"`
	RMSE float64 `json:"rmse"`
	MAE  float64 `json:"mae"`
	R2   float64 `json:"r2"`
}

// Classify scores class probabilities prob (rows x classes, at least two
// columns) against true classes; the predicted class is the most probable
// (the first on ties).
func Classify(yTrue []int, prob [][]float64) (Classification, error) {
	if err := sameLen("classify", len(yTrue), len(prob)); err != nil {
		return Classification{}, err
	}
	classes := len(prob[0])
	if classes < 2 {
		return Classification{}, fmt.Errorf("classify: %d probability columns, want at least 2: %w", classes, ErrInput)
	}
	pred := make([]int, len(prob))
	for i, p := range prob {
		if len(p) != classes {
			return Classification{}, fmt.Errorf("classify: row %d has %d probabilities, want %d: %w", i, len(p), classes, ErrInput)
		}
		for c, v := range p {
			if v > p[pred[i]] {
				pred[i] = c
			}
		}
	}
	var c Classification
	var err error
	c.Rows = len(yTrue)
	if c.LogLoss, err = LogLoss(yTrue, prob); err != nil {
		return Classification{}, fmt.Errorf("classify: %w", err)
	}
	if c.Confusion, err = ConfusionMatrix(yTrue, pred, classes); err != nil {
		return Classification{}, fmt.Errorf("classify: %w", err)
	}
	if c.Accuracy, err = Accuracy(yTrue, pred); err != nil {
		return Classification{}, fmt.Errorf("classify: %w", err)
	}
	if c.MacroF1, err = MacroF1(yTrue, pred); err != nil {
		return Classification{}, fmt.Errorf("classify: %w", err)
	}
	if classes == 2 {
		score := make([]float64, len(prob))
		for i, p := range prob {
			score[i] = p[1]
		}
		if auc, err := ROCAUC(yTrue, score); err == nil {
			c.ROCAUC = &auc
		}
	}
	return c, nil
}

// Regress scores predictions against true values.
func Regress(yTrue, yPred []float64) (Regression, error) {
	var r Regression
	var err error
	r.Rows = len(yTrue)
	if r.RMSE, err = RMSE(yTrue, yPred); err != nil {
		return Regression{}, fmt.Errorf("regress: %w", err)
	}
	if r.MAE, err = MAE(yTrue, yPred); err != nil {
		return Regression{}, fmt.Errorf("regress: %w", err)
	}
	if r.R2, err = R2(yTrue, yPred); err != nil {
		return Regression{}, fmt.Errorf("regress: %w", err)
	}
	return r, nil
}
