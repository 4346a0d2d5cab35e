package nn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/floats"

	"github.com/megapipe/mega/shared/tabular"
)

// Split is one part of a dataset (tabular.Split).
type Split = tabular.Split

// Data is what training needs: the train split it learns from and the val
// split that early stopping watches.
type Data struct {
	Train Split
	Val   Split
}

// Adam configures the Adam optimizer (Kingma and Ba 2015). WeightDecay, when
// not zero, is decoupled weight decay on the weights, not the biases (AdamW,
// Loshchilov and Hutter 2019). Zero fields take the defaults: LR 1e-3,
// Beta1 0.9, Beta2 0.999, Eps 1e-8.
type Adam struct {
	LR          float64 `json:"lr"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	WeightDecay float64 `json:"weight_decay"`
}

func (a Adam) withDefaults() Adam {
	if a.LR == 0 {
		a.LR = 1e-3
	}
	if a.Beta1 == 0 {
		a.Beta1 = 0.9
	}
	if a.Beta2 == 0 {
		a.Beta2 = 0.999
	}
	if a.Eps == 0 {
		a.Eps = 1e-8
	}
	return a
}

func (a Adam) validate() error {
	if !(a.LR > 0) || a.Beta1 < 0 || a.Beta1 >= 1 || a.Beta2 < 0 || a.Beta2 >= 1 || !(a.Eps > 0) || a.WeightDecay < 0 {
		return fmt.Errorf("adam %+v: %w", a, ErrBadConfig)
	}
	return nil
}

// Config configures Train. Zero fields take the defaults given.
type Config struct {
	Task      Task   `json:"task"`
	Classes   int    `json:"classes,omitempty"` // multiclass: number of classes [1 + largest label]
	Hidden    []int  `json:"hidden"`            // hidden layer sizes [64, 32]; empty slice (not nil) = no hidden layer
	Epochs    int    `json:"epochs"`            // most epochs [200]
	BatchSize int    `json:"batch_size"`        // [32]
	Patience  int    `json:"patience"`          // epochs without a better val loss before stopping [10]; < 0: never stop early
	Seed      uint64 `json:"seed"`              // initialization and shuffling
	Adam      Adam   `json:"adam"`
	// Norm standardizes the inputs; nil computes it from the train split.
	Norm *Normalization `json:"-"`
	// Progress, if set, is called after every epoch.
	Progress func(Progress) `json:"-"`
}

// Progress is reported after each epoch. Losses are means over samples: the
// training objective over the epoch's mini-batches (as the weights moved) and
// the task loss on the val split at the epoch's end. Regression losses are
// squared errors of the standardized target.
type Progress struct {
	// Stage is "train", "distill", "prune k/n" (fine-tuning after pruning
	// step k of n) or "fine-tune" (after the last step); Epoch counts from 1
	// within each stage.
	Stage     string  `json:"stage"`
	Epoch     int     `json:"epoch"`
	TrainLoss float64 `json:"train_loss"`
	ValLoss   float64 `json:"val_loss"`
}

// Report describes a finished training run.
type Report struct {
	Epochs       int           `json:"epochs"`     // epochs run
	BestEpoch    int           `json:"best_epoch"` // epoch whose weights were kept (1-based)
	BestValLoss  float64       `json:"best_val_loss"`
	StoppedEarly bool          `json:"stopped_early"`
	History      []Progress    `json:"history"`
	Duration     time.Duration `json:"duration_ns"`
}

func (c Config) withDefaults() Config {
	if c.Hidden == nil {
		c.Hidden = []int{64, 32}
	}
	if c.Epochs == 0 {
		c.Epochs = 200
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.Patience == 0 {
		c.Patience = 10
	}
	c.Adam = c.Adam.withDefaults()
	return c
}

func (c Config) validate() error {
	if c.Epochs < 1 || c.BatchSize < 1 {
		return fmt.Errorf("epochs %d, batch size %d: %w", c.Epochs, c.BatchSize, ErrBadConfig)
	}
	for _, h := range c.Hidden {
		if h < 1 {
			return fmt.Errorf("hidden sizes %v: %w", c.Hidden, ErrBadConfig)
		}
	}
	return c.Adam.validate()
}

// checkSplit validates a split for a task with the given input width and
// class count (multiclass).
func checkSplit(name string, s Split, task Task, inputs, classes int) error {
	if len(s.X) == 0 {
		return fmt.Errorf("%s split is empty: %w", name, ErrBadData)
	}
	if len(s.X) != len(s.Y) {
		return fmt.Errorf("%s split has %d rows and %d labels: %w", name, len(s.X), len(s.Y), ErrBadData)
	}
	for i, r := range s.X {
		if len(r) != inputs {
			return fmt.Errorf("%s row %d has %d features, want %d: %w", name, i, len(r), inputs, ErrBadData)
		}
		for j, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s row %d feature %d is %v: %w", name, i, j, v, ErrBadData)
			}
		}
	}
	for i, y := range s.Y {
		ok := !math.IsNaN(y) && !math.IsInf(y, 0)
		switch task {
		case Multiclass:
			ok = ok && y == math.Trunc(y) && y >= 0 && int(y) < classes
		case Binary:
			ok = y == 0 || y == 1
		}
		if !ok {
			return fmt.Errorf("%s label %d is %v (task %s, %d classes): %w", name, i, y, task, classes, ErrBadData)
		}
	}
	return nil
}

func checkTask(t Task) error {
	switch t {
	case Multiclass, Binary, Regression:
		return nil
	}
	return fmt.Errorf("task %q (want %s, %s or %s): %w", t, Multiclass, Binary, Regression, ErrBadConfig)
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x6d65676170697065)) // "megapipe"
}

// newModel initializes a network: He-normal weights (std sqrt(2/fan_in)) for
// layers followed by ReLU, Glorot-uniform (±sqrt(6/(fan_in+fan_out))) for the
// output layer, zero biases.
func newModel(task Task, inputs, classes int, hidden []int, norm Normalization, rng *rand.Rand) *Model {
	m := &Model{Task: task, Inputs: inputs, Norm: norm}
	if task != Regression {
		m.Classes = classes
	}
	sizes := append(append([]int{inputs}, hidden...), m.Outputs())
	for i := 0; i+1 < len(sizes); i++ {
		in, out := sizes[i], sizes[i+1]
		l := Layer{In: in, Out: out, W: make([]float64, in*out), B: make([]float64, out)}
		if i+2 < len(sizes) {
			std := math.Sqrt(2 / float64(in))
			for k := range l.W {
				l.W[k] = rng.NormFloat64() * std
			}
		} else {
			lim := math.Sqrt(6 / float64(in+out))
			for k := range l.W {
				l.W[k] = (2*rng.Float64() - 1) * lim
			}
		}
		m.Layers = append(m.Layers, l)
	}
	return m
}

// inferClasses returns 1 + the largest label of the splits.
func inferClasses(splits ...Split) int {
	c := 0
	for _, s := range splits {
		for _, y := range s.Y {
			if y >= 0 && !math.IsNaN(y) && !math.IsInf(y, 0) {
				c = max(c, int(y)+1)
			}
		}
	}
	return c
}

// Train trains an MLP from scratch on data.Train, stopping early when the
// loss on data.Val has not improved for cfg.Patience epochs, and returns the
// weights of the best epoch. The same data and config give identical weights.
func Train(ctx context.Context, data Data, cfg Config) (*Model, *Report, error) {
	cfg = cfg.withDefaults()
	if err := checkTask(cfg.Task); err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	if err := cfg.validate(); err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	if len(data.Train.X) == 0 {
		return nil, nil, fmt.Errorf("train: train split is empty: %w", ErrBadData)
	}
	inputs := len(data.Train.X[0])
	classes := 2
	switch cfg.Task {
	case Multiclass:
		classes = cfg.Classes
		if classes == 0 {
			classes = inferClasses(data.Train, data.Val)
		}
		if classes < 2 {
			return nil, nil, fmt.Errorf("train: multiclass needs at least 2 classes, have %d: %w", classes, ErrBadData)
		}
	case Regression:
		classes = 0
	}
	if err := checkSplit("train", data.Train, cfg.Task, inputs, classes); err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	if err := checkSplit("val", data.Val, cfg.Task, inputs, classes); err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	norm, err := normFor(cfg.Norm, data.Train.X, inputs)
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	rng := newRand(cfg.Seed)
	m := newModel(cfg.Task, inputs, classes, cfg.Hidden, norm, rng)
	if cfg.Task == Regression {
		m.TargetMean, m.TargetStd = targetStats(data.Train.Y)
	}
	run := fitRun{
		x:      standardize(m.Norm, data.Train.X),
		obj:    &hardLoss{task: m.Task, y: m.targets(data.Train.Y)},
		valX:   standardize(m.Norm, data.Val.X),
		valObj: &hardLoss{task: m.Task, y: m.targets(data.Val.Y)},
		epochs: cfg.Epochs, batch: cfg.BatchSize, patience: cfg.Patience,
		adam: cfg.Adam, rng: rng, progress: cfg.Progress, stage: "train",
	}
	rep, err := run.fit(ctx, m)
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	return m, rep, nil
}

func normFor(given *Normalization, x [][]float64, inputs int) (Normalization, error) {
	if given == nil {
		return ComputeNormalization(x)
	}
	if len(given.Mean) != inputs || len(given.Std) != inputs {
		return Normalization{}, fmt.Errorf("normalization has %d/%d entries for %d features: %w", len(given.Mean), len(given.Std), inputs, ErrBadConfig)
	}
	return Normalization{Mean: slices.Clone(given.Mean), Std: slices.Clone(given.Std)}, nil
}

func targetStats(y []float64) (mean, std float64) {
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	for _, v := range y {
		std += (v - mean) * (v - mean)
	}
	std = math.Sqrt(std / float64(len(y)))
	if !(std > 0) {
		std = 1
	}
	return mean, std
}

// targets maps labels to what the loss compares the raw output with: the
// labels themselves for classification, the standardized target for
// regression.
func (m *Model) targets(y []float64) []float64 {
	if m.Task != Regression {
		return y
	}
	t := make([]float64, len(y))
	for i, v := range y {
		t[i] = (v - m.TargetMean) / m.TargetStd
	}
	return t
}

func standardize(n Normalization, x [][]float64) [][]float64 {
	z := make([][]float64, len(x))
	for i, r := range x {
		z[i] = make([]float64, len(r))
		n.Apply(z[i], r)
	}
	return z
}

// fitRun is one optimization run over standardized inputs.
type fitRun struct {
	x        [][]float64
	obj      objective
	valX     [][]float64
	valObj   objective
	epochs   int
	batch    int
	patience int // < 0: no early stopping, keep the last weights
	adam     Adam
	rng      *rand.Rand
	masks    [][]bool // per layer, true = weight held at zero; nil = none
	progress func(Progress)
	stage    string
}

// grads holds gradients (or Adam moments) shaped like a model's parameters.
type grads struct{ w, b [][]float64 }

func newGrads(m *Model) grads {
	g := grads{w: make([][]float64, len(m.Layers)), b: make([][]float64, len(m.Layers))}
	for i, l := range m.Layers {
		g.w[i], g.b[i] = make([]float64, len(l.W)), make([]float64, len(l.B))
	}
	return g
}

func (g grads) zero() {
	for i := range g.w {
		clear(g.w[i])
		clear(g.b[i])
	}
}

// backprop adds the gradient of obj's loss on sample (z, i) to g and returns
// the loss.
func (m *Model) backprop(s *scratch, z []float64, i int, obj objective, g grads, deltas [][]float64) float64 {
	copy(s.z, z)
	out := m.forward(s)
	last := len(m.Layers) - 1
	loss := obj.loss(i, out, deltas[last])
	for li := last; li >= 0; li-- {
		l := m.Layers[li]
		in := s.z
		if li > 0 {
			in = s.acts[li-1]
		}
		d := deltas[li]
		gw, gb := g.w[li], g.b[li]
		for o := 0; o < l.Out; o++ {
			if d[o] == 0 {
				continue
			}
			gb[o] += d[o]
			floats.AddScaled(gw[o*l.In:(o+1)*l.In], d[o], in)
		}
		if li == 0 {
			break
		}
		prev := deltas[li-1]
		clear(prev)
		for o := 0; o < l.Out; o++ {
			if d[o] == 0 {
				continue
			}
			floats.AddScaled(prev, d[o], l.W[o*l.In:(o+1)*l.In])
		}
		for k, v := range in { // ReLU derivative
			if v <= 0 {
				prev[k] = 0
			}
		}
	}
	return loss
}

func (m *Model) newDeltas() [][]float64 {
	d := make([][]float64, len(m.Layers))
	for i, l := range m.Layers {
		d[i] = make([]float64, l.Out)
	}
	return d
}

// meanLoss is the mean of obj over standardized rows x.
func (m *Model) meanLoss(x [][]float64, obj objective) float64 {
	s := m.newScratch()
	sum := 0.0
	for i, z := range x {
		copy(s.z, z)
		sum += obj.loss(i, m.forward(s), nil)
	}
	return sum / float64(len(x))
}

func (m *Model) applyMasks(masks [][]bool) {
	if masks == nil {
		return
	}
	for li, mask := range masks {
		for k, off := range mask {
			if off {
				m.Layers[li].W[k] = 0
			}
		}
	}
}

func (r *fitRun) fit(ctx context.Context, m *Model) (*Report, error) {
	start := time.Now()
	a := r.adam
	g, mom, vel := newGrads(m), newGrads(m), newGrads(m)
	s, deltas := m.newScratch(), m.newDeltas()
	perm := make([]int, len(r.x))
	for i := range perm {
		perm[i] = i
	}
	rep := &Report{BestValLoss: math.Inf(1)}
	var best *Model
	step := 0
	m.applyMasks(r.masks)
	for epoch := 1; epoch <= r.epochs; epoch++ {
		r.rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		total := 0.0
		for lo := 0; lo < len(perm); lo += r.batch {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("epoch %d: %w", epoch, err)
			}
			hi := min(lo+r.batch, len(perm))
			g.zero()
			for _, i := range perm[lo:hi] {
				total += m.backprop(s, r.x[i], i, r.obj, g, deltas)
			}
			step++
			inv := 1 / float64(hi-lo)
			c1 := 1 - math.Pow(a.Beta1, float64(step))
			c2 := 1 - math.Pow(a.Beta2, float64(step))
			for li := range m.Layers {
				l := &m.Layers[li]
				var mask []bool
				if r.masks != nil {
					mask = r.masks[li]
				}
				adamUpdate(l.W, g.w[li], mom.w[li], vel.w[li], mask, inv, c1, c2, a, a.WeightDecay)
				adamUpdate(l.B, g.b[li], mom.b[li], vel.b[li], nil, inv, c1, c2, a, 0)
			}
		}
		p := Progress{Stage: r.stage, Epoch: epoch, TrainLoss: total / float64(len(perm)), ValLoss: m.meanLoss(r.valX, r.valObj)}
		if math.IsNaN(p.TrainLoss) || math.IsNaN(p.ValLoss) {
			return nil, fmt.Errorf("epoch %d: loss is NaN (learning rate %g too high?): %w", epoch, a.LR, ErrBadConfig)
		}
		rep.History = append(rep.History, p)
		rep.Epochs = epoch
		if r.progress != nil {
			r.progress(p)
		}
		if r.patience < 0 {
			rep.BestEpoch, rep.BestValLoss = epoch, p.ValLoss
			continue
		}
		if p.ValLoss < rep.BestValLoss {
			rep.BestEpoch, rep.BestValLoss = epoch, p.ValLoss
			best = m.Clone()
		} else if epoch-rep.BestEpoch >= r.patience {
			rep.StoppedEarly = true
			break
		}
	}
	if best != nil {
		for i := range m.Layers {
			copy(m.Layers[i].W, best.Layers[i].W)
			copy(m.Layers[i].B, best.Layers[i].B)
		}
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// adamUpdate applies one Adam step to params p with summed gradient g (scaled
// by inv to the batch mean). Masked entries get no gradient and stay zero.
func adamUpdate(p, g, mom, vel []float64, mask []bool, inv, c1, c2 float64, a Adam, wd float64) {
	for k := range p {
		if mask != nil && mask[k] {
			p[k] = 0
			continue
		}
		gk := g[k] * inv
		mom[k] = a.Beta1*mom[k] + (1-a.Beta1)*gk
		vel[k] = a.Beta2*vel[k] + (1-a.Beta2)*gk*gk
		upd := (mom[k] / c1) / (math.Sqrt(vel[k]/c2) + a.Eps)
		if wd != 0 {
			upd += wd * p[k]
		}
		p[k] -= a.LR * upd
	}
}
