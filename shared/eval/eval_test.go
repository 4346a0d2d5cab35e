package eval

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// golden is testdata/golden.json, written by testdata/golden.py from
// scikit-learn's metrics.
type golden struct {
	Versions       map[string]string `json:"versions"`
	Classification []struct {
		Name      string  `json:"name"`
		YTrue     []int   `json:"y_true"`
		YPred     []int   `json:"y_pred"`
		Classes   int     `json:"classes"`
		Accuracy  float64 `json:"accuracy"`
		MacroF1   float64 `json:"macro_f1"`
		Confusion [][]int `json:"confusion"`
	} `json:"classification"`
	ROCAUC []struct {
		Name   string    `json:"name"`
		YTrue  []int     `json:"y_true"`
		Score  []float64 `json:"score"`
		ROCAUC float64   `json:"roc_auc"`
	} `json:"roc_auc"`
	LogLoss []struct {
		Name    string          `json:"name"`
		YTrue   []int           `json:"y_true"`
		Prob    json.RawMessage `json:"prob"` // [][]float64, or []float64 for binary
		LogLoss float64         `json:"log_loss"`
	} `json:"log_loss"`
	Regression []struct {
		Name  string    `json:"name"`
		YTrue []float64 `json:"y_true"`
		YPred []float64 `json:"y_pred"`
		RMSE  float64   `json:"rmse"`
		MAE   float64   `json:"mae"`
		R2    float64   `json:"r2"`
	} `json:"regression"`
}

func loadGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Classification) == 0 || len(g.ROCAUC) == 0 || len(g.LogLoss) == 0 || len(g.Regression) == 0 {
		t.Fatal("golden.json has an empty section")
	}
	return g
}

const tol = 1e-12

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.17g, scikit-learn %.17g", what, got, want)
	}
}

func TestGoldenScikitLearn(t *testing.T) {
	g := loadGolden(t)
	t.Logf("golden values from scikit-learn %s", g.Versions["scikit-learn"])
	for _, c := range g.Classification {
		t.Run("classification/"+c.Name, func(t *testing.T) {
			acc, err := Accuracy(c.YTrue, c.YPred)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "accuracy", acc, c.Accuracy)
			f1, err := MacroF1(c.YTrue, c.YPred)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "macro F1", f1, c.MacroF1)
			cm, err := ConfusionMatrix(c.YTrue, c.YPred, c.Classes)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.Confusion, cm); diff != "" {
				t.Errorf("confusion matrix (-sklearn +got):\n%s", diff)
			}
		})
	}
	for _, c := range g.ROCAUC {
		t.Run("roc_auc/"+c.Name, func(t *testing.T) {
			auc, err := ROCAUC(c.YTrue, c.Score)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "ROC AUC", auc, c.ROCAUC)
		})
	}
	for _, c := range g.LogLoss {
		t.Run("log_loss/"+c.Name, func(t *testing.T) {
			var prob [][]float64
			var got float64
			var err error
			if json.Unmarshal(c.Prob, &prob) == nil {
				got, err = LogLoss(c.YTrue, prob)
			} else {
				var p []float64
				if err := json.Unmarshal(c.Prob, &p); err != nil {
					t.Fatal(err)
				}
				got, err = BinaryLogLoss(c.YTrue, p)
			}
			if err != nil {
				t.Fatal(err)
			}
			near(t, "log loss", got, c.LogLoss)
		})
	}
	for _, c := range g.Regression {
		t.Run("regression/"+c.Name, func(t *testing.T) {
			r, err := Regress(c.YTrue, c.YPred)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "RMSE", r.RMSE, c.RMSE)
			near(t, "MAE", r.MAE, c.MAE)
			near(t, "R2", r.R2, c.R2)
		})
	}
}

func TestClassifyMatchesMetrics(t *testing.T) {
	y := []int{0, 1, 1, 0, 1}
	prob := [][]float64{{0.8, 0.2}, {0.3, 0.7}, {0.6, 0.4}, {0.5, 0.5}, {0.1, 0.9}}
	got, err := Classify(y, prob)
	if err != nil {
		t.Fatal(err)
	}
	// By hand: predictions 0,1,0,0(tie -> first),1: 4 of 5 right; positives
	// scored 0.7,0.4,0.9 vs negatives 0.2,0.5: pairs won 2+1+2 = 5 of 6.
	auc := 5.0 / 6
	want := Classification{
		Rows: 5, Accuracy: 0.8, Confusion: [][]int{{2, 0}, {1, 2}}, ROCAUC: &auc,
		MacroF1: (2*2.0/(2*2+0+1) + 2*2.0/(2*2+1+0)) / 2,
		LogLoss: -(math.Log(0.8) + math.Log(0.7) + math.Log(0.4) + math.Log(0.5) + math.Log(0.9)) / 5,
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < tol })); diff != "" {
		t.Errorf("Classify (-want +got):\n%s", diff)
	}
}

func TestBadInput(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		fn   func() error
	}{
		{"accuracy lengths", func() error { _, err := Accuracy([]int{1}, []int{1, 0}); return err }},
		{"accuracy empty", func() error { _, err := Accuracy(nil, nil); return err }},
		{"f1 negative label", func() error { _, err := MacroF1([]int{-1}, []int{0}); return err }},
		{"confusion out of range", func() error { _, err := ConfusionMatrix([]int{0, 3}, []int{0, 1}, 3); return err }},
		{"auc one class", func() error { _, err := ROCAUC([]int{1, 1}, []float64{0.2, 0.4}); return err }},
		{"auc label 2", func() error { _, err := ROCAUC([]int{0, 2}, []float64{0.2, 0.4}); return err }},
		{"auc NaN score", func() error { _, err := ROCAUC([]int{0, 1}, []float64{nan, 0.4}); return err }},
		{"log loss probability > 1", func() error { _, err := LogLoss([]int{0}, [][]float64{{1.5, -0.5}}); return err }},
		{"log loss label out of range", func() error { _, err := LogLoss([]int{2}, [][]float64{{0.5, 0.5}}); return err }},
		{"log loss ragged", func() error { _, err := LogLoss([]int{0, 0}, [][]float64{{0.5, 0.5}, {1}}); return err }},
		{"binary log loss NaN", func() error { _, err := BinaryLogLoss([]int{0}, []float64{nan}); return err }},
		{"rmse NaN", func() error { _, err := RMSE([]float64{1}, []float64{nan}); return err }},
		{"r2 one row", func() error { _, err := R2([]float64{1}, []float64{1}); return err }},
		{"classify one column", func() error { _, err := Classify([]int{0}, [][]float64{{1}}); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); !errors.Is(err, ErrInput) {
				t.Errorf("error %v, want ErrInput", err)
			}
		})
	}
}
