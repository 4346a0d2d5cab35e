//go:build unix

package nn

import (
	"context"
	"flag"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/megapipe/mega/shared/eval"
)

var report = flag.Bool("nn.report", false, "train teacher, student and pruned student on breast cancer and digits and log the figures")

// TestReport prints the figures quoted in reports. Run it with
//
//	GOMAXPROCS=1 go test ./shared/nn -run TestReport -v -args -nn.report
func TestReport(t *testing.T) {
	if !*report {
		t.Skip("figures only with -nn.report")
	}
	ctx := context.Background()
	for _, ds := range []struct {
		file string
		task Task
	}{{"breast_cancer.csv", Binary}, {"digits.csv", Multiclass}} {
		x, y := loadDataset(t, ds.file)
		data, test := split80(x, y, 2026)
		score := func(m *Model) eval.Classification {
			sc, err := m.Evaluate(test)
			if err != nil {
				t.Fatal(err)
			}
			return *sc.Classification
		}
		line := func(what string, m *Model, d, cpu time.Duration, epochs int) {
			c := score(m)
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
		t.Logf("%s: train %d, val %d, test %d rows", ds.file, len(data.Train.X), len(data.Val.X), len(test.X))
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
