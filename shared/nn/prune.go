package nn

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
)

// Scope says which weights compete when choosing what to prune.
type Scope string

const (
	// PerLayer prunes the same fraction of every layer's weights, the
	// smallest magnitudes within each layer (as TensorFlow Model
	// Optimization's prune_low_magnitude does). It never empties a layer.
	PerLayer Scope = "per-layer"
	// Global ranks all weights of the network together, so layers with many
	// redundant weights lose more.
	Global Scope = "global"
)

// PruneConfig configures Prune. Zero fields take the defaults given.
type PruneConfig struct {
	Sparsity float64 `json:"sparsity"` // target fraction of zero weights, 0 <= s < 1
	Scope    Scope   `json:"scope"`    // [PerLayer]
	// Steps is the number of pruning steps of the gradual schedule of Zhu and
	// Gupta (2017): step k of n prunes to s*(1-(1-k/n)^3) [8].
	Steps int `json:"steps"`
	// EpochsPerStep is the fine-tuning between steps, mask held [2].
	EpochsPerStep int `json:"epochs_per_step"`
	// FineTuneEpochs is the most epochs of the final fine-tuning, mask held,
	// with early stopping on the val loss [50].
	FineTuneEpochs int    `json:"fine_tune_epochs"`
	Patience       int    `json:"patience"`   // final fine-tuning [10]
	BatchSize      int    `json:"batch_size"` // [32]
	Seed           uint64 `json:"seed"`
	Adam           Adam   `json:"adam"` // LR defaults to 5e-4
	// Teacher, if set, makes fine-tuning use the distillation loss with
	// Temperature and Alpha (defaults as in DistillConfig).
	Teacher     *Model         `json:"-"`
	Temperature float64        `json:"temperature,omitempty"`
	Alpha       float64        `json:"alpha,omitempty"`
	Progress    func(Progress) `json:"-"`
}

// PruneStep records one step of the schedule.
type PruneStep struct {
	Sparsity float64 `json:"sparsity"` // of the whole network after the step
	ValLoss  float64 `json:"val_loss"` // after the step's fine-tuning
}

// PruneReport describes a pruning run. Counts include biases, which are not
// pruned; Sparsity is the fraction of zero weights.
type PruneReport struct {
	Scope          Scope       `json:"scope"`
	TargetSparsity float64     `json:"target_sparsity"`
	Params         int         `json:"params"`
	Nonzero        int         `json:"nonzero"`
	Sparsity       float64     `json:"sparsity"`
	LayerSparsity  []float64   `json:"layer_sparsity"`
	Steps          []PruneStep `json:"steps"`
	FineTune       *Report     `json:"fine_tune"`
}

func (c PruneConfig) withDefaults() PruneConfig {
	if c.Scope == "" {
		c.Scope = PerLayer
	}
	if c.Steps == 0 {
		c.Steps = 8
	}
	if c.EpochsPerStep == 0 {
		c.EpochsPerStep = 2
	}
	if c.FineTuneEpochs == 0 {
		c.FineTuneEpochs = 50
	}
	if c.Patience == 0 {
		c.Patience = 10
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.Adam.LR == 0 {
		c.Adam.LR = 5e-4
	}
	c.Adam = c.Adam.withDefaults()
	if c.Temperature == 0 {
		c.Temperature = DefaultTemperature
	}
	if c.Alpha == 0 {
		c.Alpha = DefaultAlpha
	}
	return c
}

// Prune returns a copy of m with the target fraction of its weights set to
// zero by magnitude, reached gradually and fine-tuned with the pruned weights
// held at zero. Biases are kept.
func Prune(ctx context.Context, m *Model, data Data, cfg PruneConfig) (*Model, *PruneReport, error) {
	if err := m.Validate(); err != nil {
		return nil, nil, fmt.Errorf("prune: %w", err)
	}
	cfg = cfg.withDefaults()
	if !(cfg.Sparsity >= 0 && cfg.Sparsity < 1) || (cfg.Scope != PerLayer && cfg.Scope != Global) ||
		cfg.Steps < 1 || cfg.EpochsPerStep < 0 || cfg.FineTuneEpochs < 0 || cfg.BatchSize < 1 ||
		!(cfg.Temperature > 0) || !(cfg.Alpha > 0 && cfg.Alpha <= 1) {
		return nil, nil, fmt.Errorf("prune: config %+v: %w", cfg, ErrBadConfig)
	}
	if err := cfg.Adam.validate(); err != nil {
		return nil, nil, fmt.Errorf("prune: %w", err)
	}
	for _, s := range []struct {
		name string
		s    Split
	}{{"train", data.Train}, {"val", data.Val}} {
		if err := checkSplit(s.name, s.s, m.Task, m.Inputs, m.Classes); err != nil {
			return nil, nil, fmt.Errorf("prune: %w", err)
		}
	}
	p := m.Clone()
	var obj objective = &hardLoss{task: p.Task, y: p.targets(data.Train.Y)}
	if cfg.Teacher != nil {
		if err := cfg.Teacher.Validate(); err != nil {
			return nil, nil, fmt.Errorf("prune: teacher: %w", err)
		}
		if cfg.Teacher.Task != p.Task || cfg.Teacher.Inputs != p.Inputs || cfg.Teacher.Outputs() != p.Outputs() {
			return nil, nil, fmt.Errorf("prune: teacher (%s, %d inputs, %d outputs) does not match the model: %w", cfg.Teacher.Task, cfg.Teacher.Inputs, cfg.Teacher.Outputs(), ErrBadModel)
		}
		soft, err := studentTargets(cfg.Teacher, p, data.Train.X)
		if err != nil {
			return nil, nil, fmt.Errorf("prune: %w", err)
		}
		obj = newDistillLoss(p.Task, p.targets(data.Train.Y), soft, cfg.Temperature, cfg.Alpha)
	}
	run := fitRun{
		x:      standardize(p.Norm, data.Train.X),
		obj:    obj,
		valX:   standardize(p.Norm, data.Val.X),
		valObj: &hardLoss{task: p.Task, y: p.targets(data.Val.Y)},
		batch:  cfg.BatchSize, adam: cfg.Adam, rng: newRand(cfg.Seed), progress: cfg.Progress,
	}
	rep := &PruneReport{Scope: cfg.Scope, TargetSparsity: cfg.Sparsity}
	for k := 1; k <= cfg.Steps; k++ {
		frac := float64(k) / float64(cfg.Steps)
		s := cfg.Sparsity * (1 - math.Pow(1-frac, 3))
		run.masks = magnitudeMasks(p, s, cfg.Scope)
		p.applyMasks(run.masks)
		val := p.meanLoss(run.valX, run.valObj)
		if cfg.EpochsPerStep > 0 {
			run.epochs, run.patience, run.stage = cfg.EpochsPerStep, -1, fmt.Sprintf("prune %d/%d", k, cfg.Steps)
			r, err := run.fit(ctx, p)
			if err != nil {
				return nil, nil, fmt.Errorf("prune: step %d: %w", k, err)
			}
			val = r.BestValLoss
		}
		rep.Steps = append(rep.Steps, PruneStep{Sparsity: p.Sparsity(), ValLoss: val})
	}
	if cfg.FineTuneEpochs > 0 {
		run.epochs, run.patience, run.stage = cfg.FineTuneEpochs, cfg.Patience, "fine-tune"
		r, err := run.fit(ctx, p)
		if err != nil {
			return nil, nil, fmt.Errorf("prune: fine-tune: %w", err)
		}
		rep.FineTune = r
	}
	rep.Params, rep.Nonzero, rep.Sparsity = p.ParamCount(), p.NonzeroCount(), p.Sparsity()
	for _, l := range p.Layers {
		z := 0
		for _, v := range l.W {
			if v == 0 {
				z++
			}
		}
		rep.LayerSparsity = append(rep.LayerSparsity, float64(z)/float64(len(l.W)))
	}
	return p, rep, nil
}

// magnitudeMasks marks the round(s*n) smallest-magnitude weights (per layer
// or over the whole network) for pruning. Weights already zero come first;
// ties are broken by position so the result is deterministic.
func magnitudeMasks(m *Model, s float64, scope Scope) [][]bool {
	type ref struct {
		layer, k int
		mag      float64
	}
	masks := make([][]bool, len(m.Layers))
	for i, l := range m.Layers {
		masks[i] = make([]bool, len(l.W))
	}
	prune := func(refs []ref) {
		slices.SortStableFunc(refs, func(a, b ref) int { return cmp.Compare(a.mag, b.mag) })
		n := int(math.Round(s * float64(len(refs))))
		for _, r := range refs[:n] {
			masks[r.layer][r.k] = true
		}
	}
	var all []ref
	for i, l := range m.Layers {
		var refs []ref
		for k, w := range l.W {
			refs = append(refs, ref{i, k, math.Abs(w)})
		}
		if scope == Global {
			all = append(all, refs...)
		} else {
			prune(refs)
		}
	}
	if scope == Global {
		prune(all)
	}
	return masks
}
