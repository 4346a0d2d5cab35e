//go:build unix

package nn

import (
	"context"
	"flag"
	"fmt"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/megapipe/mega/shared/eval"
)

var (
	report       = flag.Bool("nn.report", false, "train teacher, student and pruned student on breast cancer and digits and log the figures")
	reportSplits = flag.Int("nn.splits", 1, "with -nn.report: number of random 80/10/10 splits (seeds 2026, 2027, ...)")
)

// TestReport prints the figures quoted in reports. Run it with
//
//	GOMAXPROCS=1 go test ./shared/nn -run TestReport -v -args -nn.report [-nn.splits 5]
func TestReport(t *testing.T) {
	if !*report {
		t.Skip("figures only with -nn.report")
	}
	ctx := context.Background()
	for _, ds := range []struct {
		file string
		task Task
	}{{"breast_cancer.csv", Binary}, {"digits.csv", Multiclass}} {
		acc := map[string][]float64{}
		for split := range *reportSplits {
			reportSplit(t, ctx, ds.file, ds.task, uint64(2026+split), acc)
		}
		for _, what := range []string{"teacher", "student", "pruned"} {
			mean, sd := meanSD(acc[what])
			t.Logf("%-17s %-8s test accuracy over %d splits: mean %.4f, sd %.4f", ds.file, what, len(acc[what]), mean, sd)
		}
	}
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	if len(v) > 1 {
		sd = math.Sqrt(sd / float64(len(v)-1))
	}
	return mean, sd
}

func reportSplit(t *testing.T, ctx context.Context, file string, task Task, seed uint64, acc map[string][]float64) {
	ds := struct {
		file string
		task Task
	}{file, task}
	{
		x, y := loadDataset(t, ds.file)
		data, test := split80(x, y, seed)
		score := func(m *Model) eval.Classification {
			sc, err := m.Evaluate(test)
			if err != nil {
				t.Fatal(err)
			}
			return *sc.Classification
		}
		line := func(what string, m *Model, d, cpu time.Duration, epochs int) {
			c := score(m)
			acc[strings.Fields(what)[0]] = append(acc[strings.Fields(what)[0]], c.Accuracy)
			auc := ""
			if c.ROCAUC != nil {
				auc = fmt.Sprintf(" auc %.4f", *c.ROCAUC)
			}
			size := 0
			if b, err := m.TFLite(); err == nil {
				size = len(b)
			}
			t.Logf("%-17s %-16s acc %.4f macroF1 %.4f%s params %6d nonzero %6d sparsity %.3f tflite %6d B epochs %3d wall %6.2fs cpu %6.2fs",
				ds.file, what, c.Accuracy, c.MacroF1, auc, m.ParamCount(), m.NonzeroCount(), m.Sparsity(), size, epochs, d.Seconds(), cpu.Seconds())
		}
		t.Logf("%s split seed %d: train %d, val %d, test %d rows", ds.file, seed, len(data.Train.X), len(data.Val.X), len(test.X))
		start, cpu0 := time.Now(), cpuTime()
		teacher, rep, err := Train(ctx, data, Config{Task: ds.task, Hidden: []int{128, 64}, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		line("teacher 128-64", teacher, time.Since(start), cpuTime()-cpu0, rep.Epochs)
		start, cpu0 = time.Now(), cpuTime()
		student, rep, err := Distill(ctx, teacher, data, DistillConfig{Config: Config{Hidden: []int{16}, Seed: 2}})
		if err != nil {
			t.Fatal(err)
		}
		line("student 16", student, time.Since(start), cpuTime()-cpu0, rep.Epochs)
		start, cpu0 = time.Now(), cpuTime()
		pruned, prep, err := Prune(ctx, student, data, PruneConfig{Sparsity: 0.5, Teacher: teacher, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		line("pruned 50%", pruned, time.Since(start), cpuTime()-cpu0, len(prep.Steps)*2+prep.FineTune.Epochs)
	}
}

// cpuTime is the CPU time (user + system) the process has used: the honest
// figure on a machine other jobs share.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
