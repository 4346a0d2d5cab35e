package nn

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/megapipe/mega/shared/eval"
)

func accuracy(t *testing.T, m *Model, s Split) float64 {
	t.Helper()
	c, err := m.Classify(s.X)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for i := range c {
		if float64(c[i]) == s.Y[i] {
			right++
		}
	}
	return float64(right) / float64(len(c))
}

// linearData is y = 3*x0 - 2*x1 + 0.5*x2 + 100 + noise, on features with
// very different scales.
func linearData(seed uint64, n int) Split {
	rng := rand.New(rand.NewPCG(seed, 3))
	var s Split
	for range n {
		x := []float64{rng.NormFloat64(), 50 + 10*rng.NormFloat64(), 1000 * rng.Float64()}
		s.X = append(s.X, x)
		s.Y = append(s.Y, 3*x[0]-2*x[1]+0.5*x[2]+100+0.5*rng.NormFloat64())
	}
	return s
}

func TestTrainLearns(t *testing.T) {
	ctx := context.Background()
	t.Run("binary/breast_cancer", func(t *testing.T) {
		x, y := loadDataset(t, "breast_cancer.csv")
		data, test := split80(x, y, 1)
		m, rep, err := Train(ctx, data, Config{Task: Binary, Hidden: []int{32, 16}, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		// Linear models reach about 0.95-0.97 on this data set.
		if acc := accuracy(t, m, test); acc < 0.93 {
			t.Errorf("test accuracy %.3f after %d epochs", acc, rep.Epochs)
		}
	})
	t.Run("multiclass/digits", func(t *testing.T) {
		x, y := loadDataset(t, "digits.csv")
		data, test := split80(x, y, 1)
		m, rep, err := Train(ctx, data, Config{Task: Multiclass, Hidden: []int{32}, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if m.Classes != 10 {
			t.Errorf("inferred %d classes, want 10", m.Classes)
		}
		if acc := accuracy(t, m, test); acc < 0.93 {
			t.Errorf("test accuracy %.3f after %d epochs", acc, rep.Epochs)
		}
	})
	t.Run("regression/linear", func(t *testing.T) {
		data := Data{Train: linearData(1, 800), Val: linearData(2, 200)}
		test := linearData(3, 200)
		m, _, err := Train(ctx, data, Config{Task: Regression, Hidden: []int{16}, Seed: 1, Epochs: 300, Patience: 20})
		if err != nil {
			t.Fatal(err)
		}
		pred, err := m.Predict(test.X)
		if err != nil {
			t.Fatal(err)
		}
		// The target's standard deviation is about 290; the noise 0.5.
		se := 0.0
		for i, p := range pred {
			se += (p[0] - test.Y[i]) * (p[0] - test.Y[i])
		}
		if rmse := math.Sqrt(se / float64(len(pred))); rmse > 10 {
			t.Errorf("test RMSE %.3f", rmse)
		}
	})
}

func TestReproducible(t *testing.T) {
	ctx := context.Background()
	x, y := loadDataset(t, "breast_cancer.csv")
	data, _ := split80(x, y, 2)
	cfg := Config{Task: Binary, Hidden: []int{8}, Seed: 42, Epochs: 15}
	run := func(seed uint64) (*Model, *Model, *Model) {
		cfg.Seed = seed
		m, _, err := Train(ctx, data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s, _, err := Distill(ctx, m, data, DistillConfig{Config: Config{Hidden: []int{4}, Seed: seed, Epochs: 10}})
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := Prune(ctx, s, data, PruneConfig{Sparsity: 0.5, Seed: seed, Steps: 2, FineTuneEpochs: 5, Teacher: m})
		if err != nil {
			t.Fatal(err)
		}
		return m, s, p
	}
	m1, s1, p1 := run(42)
	m2, s2, p2 := run(42)
	for _, c := range []struct {
		name string
		a, b *Model
	}{{"teacher", m1, m2}, {"student", s1, s2}, {"pruned", p1, p2}} {
		if diff := cmp.Diff(c.a, c.b); diff != "" {
			t.Errorf("%s differs between two runs with the same seed:\n%.2000s", c.name, diff)
		}
	}
	m3, _, _ := run(43)
	if cmp.Equal(m1, m3) {
		t.Error("seeds 42 and 43 gave the same teacher")
	}
}

func TestEarlyStoppingRestoresBest(t *testing.T) {
	x, y := loadDataset(t, "breast_cancer.csv")
	data, _ := split80(x, y, 3)
	var seen []Progress
	m, rep, err := Train(context.Background(), data, Config{
		Task: Binary, Hidden: []int{64, 64}, Seed: 3, Patience: 5, Adam: Adam{LR: 0.01},
		Progress: func(p Progress) { seen = append(seen, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep.History, seen); diff != "" {
		t.Errorf("progress callbacks differ from the history:\n%s", diff)
	}
	if !rep.StoppedEarly || rep.Epochs != rep.BestEpoch+5 {
		t.Fatalf("ran %d epochs, best %d, stopped early %v; want a stop 5 epochs after the best", rep.Epochs, rep.BestEpoch, rep.StoppedEarly)
	}
	best := math.Inf(1)
	for _, p := range rep.History {
		best = math.Min(best, p.ValLoss)
	}
	if best != rep.BestValLoss || rep.History[rep.BestEpoch-1].ValLoss != best {
		t.Errorf("best val loss %v at epoch %d, history minimum %v", rep.BestValLoss, rep.BestEpoch, best)
	}
	got := m.meanLoss(standardize(m.Norm, data.Val.X), &hardLoss{task: Binary, y: data.Val.Y})
	if math.Abs(got-best) > 1e-12 {
		t.Errorf("returned model's val loss %v, best epoch's %v", got, best)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := Data{Train: linearData(1, 200), Val: linearData(2, 50)}
	epochs := 0
	_, _, err := Train(ctx, data, Config{Task: Regression, Progress: func(p Progress) {
		if p.Stage != "train" {
			t.Errorf("stage %q, want train", p.Stage)
		}
		epochs = p.Epoch
		if p.Epoch == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || epochs != 2 {
		t.Errorf("error %v after %d epochs, want context.Canceled after 2", err, epochs)
	}
}

func TestPrune(t *testing.T) {
	x, y := loadDataset(t, "digits.csv")
	data, test := split80(x, y, 4)
	ctx := context.Background()
	m, _, err := Train(ctx, data, Config{Task: Multiclass, Hidden: []int{32}, Seed: 4, Epochs: 40})
	if err != nil {
		t.Fatal(err)
	}
	for _, scope := range []Scope{PerLayer, Global} {
		t.Run(string(scope), func(t *testing.T) {
			var stages []string
			progress := func(p Progress) {
				if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
					stages = append(stages, p.Stage)
				}
			}
			p, rep, err := Prune(ctx, m, data, PruneConfig{Sparsity: 0.6, Scope: scope, Seed: 4, FineTuneEpochs: 20, Progress: progress})
			if err != nil {
				t.Fatal(err)
			}
			wantStages := []string{"prune 1/8", "prune 2/8", "prune 3/8", "prune 4/8", "prune 5/8", "prune 6/8", "prune 7/8", "prune 8/8", "fine-tune"}
			if diff := cmp.Diff(wantStages, stages); diff != "" {
				t.Errorf("progress stages (-want +got):\n%s", diff)
			}
			weights, zero := 0, 0
			for li, l := range p.Layers {
				z := 0
				for _, v := range l.W {
					if v == 0 {
						z++
					}
				}
				if scope == PerLayer && z != int(math.Round(0.6*float64(len(l.W)))) {
					t.Errorf("layer %d: %d of %d weights zero, want 60%%", li, z, len(l.W))
				}
				weights += len(l.W)
				zero += z
			}
			if zero != int(math.Round(0.6*float64(weights))) {
				t.Errorf("%d of %d weights zero, want 60%%", zero, weights)
			}
			want := PruneReport{Params: m.ParamCount(), Nonzero: m.ParamCount() - zero, Sparsity: float64(zero) / float64(weights)}
			got := PruneReport{Params: rep.Params, Nonzero: rep.Nonzero, Sparsity: rep.Sparsity}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("report counts (-want +got):\n%s", diff)
			}
			if len(rep.Steps) != 8 || rep.Steps[7].Sparsity != rep.Sparsity || rep.Steps[0].Sparsity >= rep.Steps[1].Sparsity {
				t.Errorf("schedule %+v", rep.Steps)
			}
			before, after := accuracy(t, m, test), accuracy(t, p, test)
			if after < before-0.05 {
				t.Errorf("accuracy %.3f before pruning, %.3f after", before, after)
			}
			t.Logf("accuracy %.3f before, %.3f after pruning 60%% (%s)", before, after, scope)
		})
	}
}

func TestDistillLearns(t *testing.T) {
	ctx := context.Background()
	t.Run("multiclass/digits", func(t *testing.T) {
		x, y := loadDataset(t, "digits.csv")
		data, test := split80(x, y, 6)
		teacher, _, err := Train(ctx, data, Config{Task: Multiclass, Hidden: []int{64}, Seed: 6})
		if err != nil {
			t.Fatal(err)
		}
		student, rep, err := Distill(ctx, teacher, data, DistillConfig{Config: Config{Hidden: []int{16}, Seed: 6}})
		if err != nil {
			t.Fatal(err)
		}
		ta, sa := accuracy(t, teacher, test), accuracy(t, student, test)
		if sa < ta-0.05 || student.ParamCount() >= teacher.ParamCount()/3 {
			t.Errorf("teacher %d params accuracy %.3f, student %d params accuracy %.3f", teacher.ParamCount(), ta, student.ParamCount(), sa)
		}
		t.Logf("teacher %d params %.3f, student %d params %.3f after %d epochs", teacher.ParamCount(), ta, student.ParamCount(), sa, rep.Epochs)
	})
	t.Run("binary/breast_cancer", func(t *testing.T) {
		x, y := loadDataset(t, "breast_cancer.csv")
		data, test := split80(x, y, 6)
		teacher, _, err := Train(ctx, data, Config{Task: Binary, Hidden: []int{64, 32}, Seed: 6})
		if err != nil {
			t.Fatal(err)
		}
		student, _, err := Distill(ctx, teacher, data, DistillConfig{Config: Config{Hidden: []int{4}, Seed: 6}})
		if err != nil {
			t.Fatal(err)
		}
		if ta, sa := accuracy(t, teacher, test), accuracy(t, student, test); sa < ta-0.05 {
			t.Errorf("teacher accuracy %.3f, student %.3f", ta, sa)
		}
	})
	t.Run("regression/linear", func(t *testing.T) {
		data := Data{Train: linearData(1, 800), Val: linearData(2, 200)}
		test := linearData(3, 200)
		teacher, _, err := Train(ctx, data, Config{Task: Regression, Hidden: []int{32}, Seed: 6, Epochs: 300, Patience: 20})
		if err != nil {
			t.Fatal(err)
		}
		student, _, err := Distill(ctx, teacher, data, DistillConfig{Config: Config{Hidden: []int{4}, Seed: 6, Epochs: 300, Patience: 20}})
		if err != nil {
			t.Fatal(err)
		}
		pruned, _, err := Prune(ctx, student, data, PruneConfig{Sparsity: 0.5, Teacher: teacher, Seed: 6})
		if err != nil {
			t.Fatal(err)
		}
		for name, m := range map[string]*Model{"teacher": teacher, "student": student, "pruned": pruned} {
			s, err := m.Evaluate(test)
			if err != nil {
				t.Fatal(err)
			}
			// The target's standard deviation is about 290.
			if s.Regression.R2 < 0.99 {
				t.Errorf("%s: test %+v", name, *s.Regression)
			}
		}
	})
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	good := Data{Train: Split{X: [][]float64{{1, 2}, {3, 4}}, Y: []float64{0, 1}}, Val: Split{X: [][]float64{{1, 1}}, Y: []float64{1}}}
	with := func(f func(d *Data)) Data {
		d := Data{Train: Split{X: append([][]float64(nil), good.Train.X...), Y: append([]float64(nil), good.Train.Y...)}, Val: good.Val}
		f(&d)
		return d
	}
	teacher, _, err := Train(ctx, good, Config{Task: Binary, Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		run  func() error
		want error
	}{
		{"unknown task", func() error { _, _, err := Train(ctx, good, Config{Task: "ranking"}); return err }, ErrBadConfig},
		{"empty train", func() error { _, _, err := Train(ctx, Data{}, Config{Task: Binary}); return err }, ErrBadData},
		{"empty val", func() error {
			_, _, err := Train(ctx, with(func(d *Data) { d.Val = Split{} }), Config{Task: Binary})
			return err
		}, ErrBadData},
		{"ragged row", func() error {
			_, _, err := Train(ctx, with(func(d *Data) { d.Train.X[1] = []float64{1} }), Config{Task: Binary})
			return err
		}, ErrBadData},
		{"NaN feature", func() error {
			_, _, err := Train(ctx, with(func(d *Data) { d.Train.X[0] = []float64{math.NaN(), 1} }), Config{Task: Binary})
			return err
		}, ErrBadData},
		{"binary label 2", func() error {
			_, _, err := Train(ctx, with(func(d *Data) { d.Train.Y[0] = 2 }), Config{Task: Binary})
			return err
		}, ErrBadData},
		{"fractional class", func() error {
			_, _, err := Train(ctx, with(func(d *Data) { d.Train.Y[0] = 0.5 }), Config{Task: Multiclass, Classes: 3})
			return err
		}, ErrBadData},
		{"one class", func() error {
			_, _, err := Train(ctx, with(func(d *Data) { d.Train.Y = []float64{0, 0}; d.Val.Y = []float64{0} }), Config{Task: Multiclass})
			return err
		}, ErrBadData},
		{"label count", func() error {
			_, _, err := Train(ctx, with(func(d *Data) { d.Train.Y = d.Train.Y[:1] }), Config{Task: Binary})
			return err
		}, ErrBadData},
		{"negative learning rate", func() error { _, _, err := Train(ctx, good, Config{Task: Binary, Adam: Adam{LR: -1}}); return err }, ErrBadConfig},
		{"zero hidden size", func() error { _, _, err := Train(ctx, good, Config{Task: Binary, Hidden: []int{0}}); return err }, ErrBadConfig},
		{"short normalization", func() error {
			_, _, err := Train(ctx, good, Config{Task: Binary, Norm: &Normalization{Mean: []float64{0}, Std: []float64{1}}})
			return err
		}, ErrBadConfig},
		{"alpha above 1", func() error {
			_, _, err := Distill(ctx, teacher, good, DistillConfig{Alpha: 1.5})
			return err
		}, ErrBadConfig},
		{"distill nil teacher", func() error { _, _, err := Distill(ctx, nil, good, DistillConfig{}); return err }, ErrBadModel},
		{"distill wrong width", func() error {
			_, _, err := Distill(ctx, teacher, Data{Train: Split{X: [][]float64{{1}}, Y: []float64{0}}, Val: good.Val}, DistillConfig{})
			return err
		}, ErrBadData},
		{"sparsity 1", func() error { _, _, err := Prune(ctx, teacher, good, PruneConfig{Sparsity: 1}); return err }, ErrBadConfig},
		{"unknown scope", func() error {
			_, _, err := Prune(ctx, teacher, good, PruneConfig{Sparsity: 0.5, Scope: "row"})
			return err
		}, ErrBadConfig},
		{"predict wrong width", func() error { _, err := teacher.Predict([][]float64{{1, 2, 3}}); return err }, ErrBadData},
		{"classify regression", func() error {
			r := teacher.Clone()
			r.Task, r.TargetStd = Regression, 1
			_, err := r.Classify([][]float64{{1, 2}})
			return err
		}, ErrBadModel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(oracleDir, "binary.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(good); err != nil {
		t.Fatalf("load the fixture: %v", err)
	}
	for name, js := range map[string]string{
		"not json":       `{"task":`,
		"unknown task":   `{"task":"ranking","inputs":1,"normalization":{"mean":[0],"std":[1]},"layers":[{"in":1,"out":1,"w":[1],"b":[0]}]}`,
		"no layers":      `{"task":"binary","inputs":1,"normalization":{"mean":[0],"std":[1]},"layers":[]}`,
		"short weights":  `{"task":"binary","inputs":2,"normalization":{"mean":[0,0],"std":[1,1]},"layers":[{"in":2,"out":1,"w":[1],"b":[0]}]}`,
		"layer mismatch": `{"task":"binary","inputs":1,"normalization":{"mean":[0],"std":[1]},"layers":[{"in":1,"out":2,"w":[1,1],"b":[0,0]},{"in":3,"out":1,"w":[1,1,1],"b":[0]}]}`,
		"wrong outputs":  `{"task":"multiclass","classes":3,"inputs":1,"normalization":{"mean":[0],"std":[1]},"layers":[{"in":1,"out":2,"w":[1,1],"b":[0,0]}]}`,
		"short norm":     `{"task":"binary","inputs":2,"normalization":{"mean":[0],"std":[1]},"layers":[{"in":2,"out":1,"w":[1,1],"b":[0]}]}`,
		"regression std": `{"task":"regression","inputs":1,"normalization":{"mean":[0],"std":[1]},"layers":[{"in":1,"out":1,"w":[1],"b":[0]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Load([]byte(js)); !errors.Is(err, ErrBadModel) {
				t.Errorf("error %v, want ErrBadModel", err)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	// Small seeds: the fixture models are tens of kilobytes, which makes
	// minimizing slow.
	f.Add([]byte(`{"task":"binary","inputs":1,"normalization":{"mean":[0],"std":[0]},"layers":[{"in":1,"out":1,"w":[1],"b":[0]}]}`))
	f.Add([]byte(`{"task":"multiclass","classes":2,"inputs":2,"normalization":{"mean":[1,2],"std":[3,0.5]},` +
		`"layers":[{"in":2,"out":2,"w":[1,-1,0.5,2],"b":[0,1]},{"in":2,"out":2,"w":[1,0,0,1],"b":[0.1,0]}]}`))
	f.Add([]byte(`{"task":"regression","inputs":1,"target_mean":5,"target_std":2,"normalization":{"mean":[0],"std":[1]},"layers":[{"in":1,"out":1,"w":[3],"b":[1]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Load(b)
		if err != nil {
			if !errors.Is(err, ErrBadModel) {
				t.Fatalf("error %v does not wrap ErrBadModel", err)
			}
			return
		}
		if _, err := m.Predict([][]float64{make([]float64, m.Inputs)}); err != nil {
			t.Fatalf("predict on a loaded model: %v", err)
		}
		if _, err := m.TFLiteModel(1); err != nil {
			t.Fatalf("export a loaded model: %v", err)
		}
	})
}

func TestEvaluate(t *testing.T) {
	// A one-layer binary model: logit = x (identity weights, no normalization).
	m := &Model{Task: Binary, Inputs: 1, Classes: 2, Norm: Normalization{Mean: []float64{0}, Std: []float64{1}},
		Layers: []Layer{{In: 1, Out: 1, W: []float64{1}, B: []float64{0}}}}
	s := Split{X: [][]float64{{-2}, {1}, {-0.5}, {3}}, Y: []float64{0, 1, 1, 1}}
	got, err := m.Evaluate(s)
	if err != nil {
		t.Fatal(err)
	}
	sig := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	auc := 1.0 // every positive scores above the negative
	want := Scores{Classification: &eval.Classification{
		Rows: 4, Accuracy: 0.75, Confusion: [][]int{{1, 0}, {1, 2}}, ROCAUC: &auc,
		MacroF1: (2.0/3 + 0.8) / 2,
		LogLoss: -(math.Log(1-sig(-2)) + math.Log(sig(1)) + math.Log(sig(-0.5)) + math.Log(sig(3))) / 4,
	}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-12 })); diff != "" {
		t.Errorf("Evaluate (-want +got):\n%s", diff)
	}

	r := &Model{Task: Regression, Inputs: 1, TargetMean: 10, TargetStd: 2, Norm: Normalization{Mean: []float64{0}, Std: []float64{1}},
		Layers: []Layer{{In: 1, Out: 1, W: []float64{1}, B: []float64{0}}}}
	// Predictions 10 + 2x: 8, 12, 14 against 9, 12, 15.
	got, err = r.Evaluate(Split{X: [][]float64{{-1}, {1}, {2}}, Y: []float64{9, 12, 15}})
	if err != nil {
		t.Fatal(err)
	}
	want = Scores{Regression: &eval.Regression{Rows: 3, RMSE: math.Sqrt(2.0 / 3), MAE: 2.0 / 3, R2: 1 - 2/18.0}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-12 })); diff != "" {
		t.Errorf("Evaluate regression (-want +got):\n%s", diff)
	}
}
