package benchmark

import (
	"fmt"
	"math"
	"strings"

	"github.com/megapipe/mega/shared/nn"
)

// Names of the gate's checks.
const (
	CheckQuantization = "quantization" // int8 vs float student
	CheckBaseline     = "baseline"     // candidate vs majority class or mean
	CheckTeacher      = "teacher"      // float student vs teacher
	CheckChampion     = "champion"     // candidate vs the serving version, on its test set
)

// Check is one test of the gate. For accuracy, higher is better and the
// bound is in points (0.01 = one point); for rmse, lower is better and the
// bound is relative (0.05 = 5%).
type Check struct {
	Name      string  `json:"name"`
	Passed    bool    `json:"passed"`
	Skipped   bool    `json:"skipped,omitempty"` // nothing to compare with (passes)
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`     // the model under test
	Reference float64 `json:"reference"` // what it is held against
	Bound     float64 `json:"bound"`
	Reason    string  `json:"reason"`
}

// metricOf is the gate metric of scores: accuracy for classifiers, RMSE for
// regression.
func metricOf(task nn.Task, s nn.Scores) (string, float64, bool) {
	if task == nn.Regression {
		if s.Regression == nil {
			return "rmse", 0, false
		}
		return "rmse", s.Regression.RMSE, true
	}
	if s.Classification == nil {
		return "accuracy", 0, false
	}
	return "accuracy", s.Classification.Accuracy, true
}

// Baseline is the score of the model that ignores its inputs, learned from
// the training labels and measured on the test labels: for classifiers the
// accuracy of always answering the training split's most frequent class
// (the smallest class code on a tie), for regression the RMSE of always
// answering the training split's mean.
func Baseline(task nn.Task, trainY, testY []float64) (metric string, value float64, err error) {
	if len(trainY) == 0 || len(testY) == 0 {
		return "", 0, fmt.Errorf("baseline: %d training and %d test labels", len(trainY), len(testY))
	}
	if task == nn.Regression {
		mean := 0.0
		for _, y := range trainY {
			mean += y
		}
		mean /= float64(len(trainY))
		ss := 0.0
		for _, y := range testY {
			ss += (y - mean) * (y - mean)
		}
		return "rmse", math.Sqrt(ss / float64(len(testY))), nil
	}
	counts := map[float64]int{}
	for _, y := range trainY {
		counts[y]++
	}
	best, bestN := math.Inf(1), -1
	for c, n := range counts {
		if n > bestN || (n == bestN && c < best) {
			best, bestN = c, n
		}
	}
	hit := 0
	for _, y := range testY {
		if y == best {
			hit++
		}
	}
	return "accuracy", float64(hit) / float64(len(testY)), nil
}

// compare holds value against reference: for accuracy value must be at least
// reference - bound (bound in points, negative bound = must beat by -bound);
// for rmse value must be at most reference * (1 + bound).
func compare(name, metric string, value, reference, bound float64, what string) Check {
	c := Check{Name: name, Metric: metric, Value: value, Reference: reference, Bound: bound}
	if metric == "rmse" {
		limit := reference * (1 + bound)
		c.Passed = value <= limit+1e-12
		c.Reason = fmt.Sprintf("%s: rmse %.4f vs %s %.4f: needs at most %.4f", name, value, what, reference, limit)
		return c
	}
	limit := reference - bound
	c.Passed = value >= limit-1e-12
	c.Reason = fmt.Sprintf("%s: accuracy %.4f vs %s %.4f: needs at least %.4f", name, value, what, reference, limit)
	return c
}

// BaselineCheck: the candidate must beat the baseline (Baseline) by margin:
// accuracy at least baseline + margin, or rmse at most baseline * (1 -
// margin).
func BaselineCheck(task nn.Task, candidate *Model, baseline, margin float64) Check {
	metric, v, ok := metricOf(task, candidate.Scores)
	if !ok {
		return Check{Name: CheckBaseline, Metric: metric, Reason: "baseline: the candidate has no test scores"}
	}
	what := "the majority-class baseline"
	if metric == "rmse" {
		what = "the mean baseline"
	}
	c := compare(CheckBaseline, metric, v, baseline, -margin, what)
	c.Bound = margin
	if metric == "rmse" {
		c.Passed = v <= baseline*(1-margin)+1e-12
		c.Reason = fmt.Sprintf("baseline: rmse %.4f vs %s %.4f: needs at most %.4f", v, what, baseline, baseline*(1-margin))
	}
	return c
}

// TeacherCheck: the float student must stay within bound of the teacher.
func TeacherCheck(task nn.Task, teacher, student *Model, bound float64) Check {
	metric, t, ok1 := metricOf(task, teacher.Scores)
	_, s, ok2 := metricOf(task, student.Scores)
	if !ok1 || !ok2 {
		return Check{Name: CheckTeacher, Metric: metric, Reason: "teacher: the teacher or the student has no test scores"}
	}
	return compare(CheckTeacher, metric, s, t, bound, "teacher")
}

// ChampionCheck: the challenger must not be worse than the champion (the
// serving version) by more than bound, both scored on the champion's test
// rows.
func ChampionCheck(task nn.Task, champion, challenger nn.Scores, champVersion string, bound float64) Check {
	metric, c, ok1 := metricOf(task, champion)
	_, n, ok2 := metricOf(task, challenger)
	if !ok1 || !ok2 {
		return Check{Name: CheckChampion, Metric: metric, Reason: "champion: no scores on the serving version's test set"}
	}
	return compare(CheckChampion, metric, n, c, bound, "serving "+champVersion)
}

// Skip is a check with nothing to compare with: it passes and says why.
func Skip(name, reason string) Check {
	return Check{Name: name, Passed: true, Skipped: true, Reason: name + ": skipped: " + reason}
}

// QuantizationCheck turns Gate's verdict into a check.
func QuantizationCheck(v Verdict) Check {
	ref, val := v.Float, v.Int8
	return Check{Name: CheckQuantization, Passed: v.Passed, Metric: v.Metric, Value: val, Reference: ref, Bound: v.Bound,
		Reason: "quantization: " + v.Reason}
}

// Combine adds checks to the quantization verdict: it passes when every
// check passes, and its reason names the failed checks (or, when all pass,
// lists them all).
func Combine(v Verdict, checks ...Check) Verdict {
	v.Checks = append([]Check{QuantizationCheck(v)}, checks...)
	var failed, all []string
	for _, c := range v.Checks {
		all = append(all, c.Reason)
		if !c.Passed {
			failed = append(failed, c.Reason)
		}
	}
	v.Passed = len(failed) == 0
	if v.Passed {
		v.Reason = strings.Join(all, "; ")
	} else {
		v.Reason = strings.Join(failed, "; ")
	}
	return v
}
