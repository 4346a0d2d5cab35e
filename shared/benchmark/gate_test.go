package benchmark

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/megapipe/mega/shared/eval"
	"github.com/megapipe/mega/shared/nn"
)

func acc(a float64) *Model {
	return &Model{Scores: nn.Scores{Classification: &eval.Classification{Accuracy: a}}}
}

func rmse(r float64) *Model {
	return &Model{Scores: nn.Scores{Regression: &eval.Regression{RMSE: r}}}
}

// TestBaseline: the majority class of the training labels scored on the
// test labels, and the RMSE of the training mean (hand-computed).
func TestBaseline(t *testing.T) {
	tests := []struct {
		name        string
		task        nn.Task
		train, test []float64
		metric      string
		want        float64
	}{
		// train: class 1 four times, class 0 twice; test: 1 in 2 of 5.
		{"majority", nn.Binary, []float64{1, 1, 0, 1, 0, 1}, []float64{0, 1, 0, 1, 0}, "accuracy", 0.4},
		// tie between 0 and 2 (two each): the smaller code, 0.
		{"tie", nn.Multiclass, []float64{2, 0, 2, 0, 1}, []float64{0, 0, 1, 2}, "accuracy", 0.5},
		// mean 2; test errors -1, 1, 2: sqrt((1+1+4)/3).
		{"mean", nn.Regression, []float64{1, 2, 3}, []float64{1, 3, 4}, "rmse", math.Sqrt(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, v, err := Baseline(tt.task, tt.train, tt.test)
			if err != nil {
				t.Fatal(err)
			}
			if m != tt.metric || math.Abs(v-tt.want) > 1e-12 {
				t.Errorf("Baseline = %s %v, want %s %v", m, v, tt.metric, tt.want)
			}
		})
	}
	if _, _, err := Baseline(nn.Binary, nil, []float64{1}); err == nil {
		t.Error("no training labels: no error")
	}
}

// TestGateChecks replays issue 17's gate cases: a binary model at 0.462
// accuracy below a 0.538 majority class, and a student 19 points below its
// teacher, are both rejected; a challenger worse than the serving version on
// its test set is rejected.
func TestGateChecks(t *testing.T) {
	tests := []struct {
		name       string
		check      Check
		wantPassed bool
		wantReason string
	}{
		{"below majority", BaselineCheck(nn.Binary, acc(0.462), 0.538, 0.02), false,
			"baseline: accuracy 0.4620 vs the majority-class baseline 0.5380: needs at least 0.5580"},
		{"at majority, not by the margin", BaselineCheck(nn.Binary, acc(0.55), 0.538, 0.02), false, ""},
		{"beats majority", BaselineCheck(nn.Binary, acc(0.95), 0.538, 0.02), true, ""},
		{"regression beats the mean", BaselineCheck(nn.Regression, rmse(0.5), 1, 0.1), true, ""},
		{"regression near the mean", BaselineCheck(nn.Regression, rmse(0.95), 1, 0.1), false,
			"baseline: rmse 0.9500 vs the mean baseline 1.0000: needs at most 0.9000"},
		{"student 19 points below", TeacherCheck(nn.Multiclass, acc(0.95), acc(0.76), 0.05), false,
			"teacher: accuracy 0.7600 vs teacher 0.9500: needs at least 0.9000"},
		{"student within bound", TeacherCheck(nn.Multiclass, acc(0.95), acc(0.93), 0.05), true, ""},
		{"regression student within 5%", TeacherCheck(nn.Regression, rmse(1), rmse(1.04), 0.05), true, ""},
		{"regression student 10% worse", TeacherCheck(nn.Regression, rmse(1), rmse(1.1), 0.05), false, ""},
		{"challenger worse", ChampionCheck(nn.Binary, acc(0.96).Scores, acc(0.90).Scores, "v1", 0), false,
			"champion: accuracy 0.9000 vs serving v1 0.9600: needs at least 0.9600"},
		{"challenger equal", ChampionCheck(nn.Binary, acc(0.96).Scores, acc(0.96).Scores, "v1", 0), true, ""},
		{"no scores", ChampionCheck(nn.Binary, nn.Scores{}, acc(0.96).Scores, "v1", 0), false, ""},
		{"skipped", Skip(CheckChampion, "no version serves"), true, "champion: skipped: no version serves"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.check.Passed != tt.wantPassed {
				t.Errorf("passed = %v, want %v (%s)", tt.check.Passed, tt.wantPassed, tt.check.Reason)
			}
			if tt.wantReason != "" && tt.check.Reason != tt.wantReason {
				t.Errorf("reason = %q\nwant     %q", tt.check.Reason, tt.wantReason)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	q := Gate(nn.Binary, acc(0.95), acc(0.945), 0.01)
	if !q.Passed {
		t.Fatalf("quantization: %s", q.Reason)
	}
	v := Combine(q, BaselineCheck(nn.Binary, acc(0.462), 0.538, 0.02), TeacherCheck(nn.Binary, acc(0.95), acc(0.94), 0.05))
	if v.Passed {
		t.Error("a model below the baseline passed the gate")
	}
	if !strings.HasPrefix(v.Reason, "baseline: ") || strings.Contains(v.Reason, "teacher") {
		t.Errorf("reason %q: want only the failed check", v.Reason)
	}
	names := []string{}
	for _, c := range v.Checks {
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{CheckQuantization, CheckBaseline, CheckTeacher}, names, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	ok := Combine(q, Skip(CheckChampion, "no version serves"))
	if !ok.Passed || !strings.Contains(ok.Reason, "quantization: ") || !strings.Contains(ok.Reason, "champion: skipped") {
		t.Errorf("all passed: %v %q", ok.Passed, ok.Reason)
	}
}
