package eval_test

import (
	"fmt"

	"github.com/megapipe/mega/shared/eval"
)

func Example() {
	// A binary classifier's probabilities for [class 0, class 1] on five rows.
	y := []int{0, 1, 1, 0, 1}
	prob := [][]float64{{0.8, 0.2}, {0.3, 0.7}, {0.6, 0.4}, {0.5, 0.5}, {0.1, 0.9}}
	s, err := eval.Classify(y, prob)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("accuracy %.2f, macro F1 %.4f, ROC AUC %.4f\n", s.Accuracy, s.MacroF1, *s.ROCAUC)
	fmt.Println("confusion", s.Confusion)

	r, _ := eval.Regress([]float64{3, -0.5, 2, 7}, []float64{2.5, 0, 2, 8})
	fmt.Printf("RMSE %.4f, MAE %.3f, R² %.4f\n", r.RMSE, r.MAE, r.R2)
	// Output:
	// accuracy 0.80, macro F1 0.8000, ROC AUC 0.8333
	// confusion [[2 0] [1 2]]
	// RMSE 0.6124, MAE 0.500, R² 0.9486
}
