package nn

import (
	"context"
	"fmt"
	"math"
)

// Distillation defaults, the values Hinton et al. (2015) and most later
// tabular work use as a starting point: a temperature high enough to expose
// the teacher's ranking of wrong classes, and most of the weight on the soft
// targets.
const (
	DefaultTemperature = 4.0
	DefaultAlpha       = 0.7
)

// DistillConfig configures Distill. The embedded Config describes the student
// (Hidden defaults to [16]; Task, Classes and Norm come from the teacher).
type DistillConfig struct {
	Config
	// Temperature T softens both distributions [DefaultTemperature]. Not used
	// for regression.
	Temperature float64 `json:"temperature"`
	// Alpha weighs the soft (teacher) part against the hard-label part
	// [DefaultAlpha]; 0 < Alpha <= 1. Use a tiny value, not 0, for hard labels only.
	Alpha float64 `json:"alpha"`
}

func (c DistillConfig) withDefaults() DistillConfig {
	if c.Hidden == nil {
		c.Hidden = []int{16}
	}
	c.Config = c.Config.withDefaults()
	if c.Temperature == 0 {
		c.Temperature = DefaultTemperature
	}
	if c.Alpha == 0 {
		c.Alpha = DefaultAlpha
	}
	return c
}

func (c DistillConfig) validate() error {
	if !(c.Temperature > 0) || math.IsInf(c.Temperature, 0) || !(c.Alpha > 0 && c.Alpha <= 1) {
		return fmt.Errorf("temperature %v, alpha %v: %w", c.Temperature, c.Alpha, ErrBadConfig)
	}
	return c.Config.validate()
}

// Distill trains a (smaller) student network on the teacher's soft targets
// mixed with the true labels (see the loss in the package doc). Early
// stopping watches the student's task loss on the true val labels. The
// student inherits the teacher's task, classes and input normalization
// (unless cfg.Norm is set).
func Distill(ctx context.Context, teacher *Model, data Data, cfg DistillConfig) (*Model, *Report, error) {
	if err := teacher.Validate(); err != nil {
		return nil, nil, fmt.Errorf("distill: teacher: %w", err)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, nil, fmt.Errorf("distill: %w", err)
	}
	classes := teacher.Classes
	for _, s := range []struct {
		name string
		s    Split
	}{{"train", data.Train}, {"val", data.Val}} {
		if err := checkSplit(s.name, s.s, teacher.Task, teacher.Inputs, classes); err != nil {
			return nil, nil, fmt.Errorf("distill: %w", err)
		}
	}
	norm := teacher.Norm
	if cfg.Norm != nil {
		norm = *cfg.Norm
	}
	norm, err := normFor(&norm, nil, teacher.Inputs)
	if err != nil {
		return nil, nil, fmt.Errorf("distill: %w", err)
	}
	rng := newRand(cfg.Seed)
	m := newModel(teacher.Task, teacher.Inputs, classes, cfg.Hidden, norm, rng)
	m.TargetMean, m.TargetStd = teacher.TargetMean, teacher.TargetStd
	soft, err := studentTargets(teacher, m, data.Train.X)
	if err != nil {
		return nil, nil, fmt.Errorf("distill: %w", err)
	}
	run := fitRun{
		x:      standardize(m.Norm, data.Train.X),
		obj:    newDistillLoss(m.Task, m.targets(data.Train.Y), soft, cfg.Temperature, cfg.Alpha),
		valX:   standardize(m.Norm, data.Val.X),
		valObj: &hardLoss{task: m.Task, y: m.targets(data.Val.Y)},
		epochs: cfg.Epochs, batch: cfg.BatchSize, patience: cfg.Patience,
		adam: cfg.Adam, rng: rng, progress: cfg.Progress, stage: "distill",
	}
	rep, err := run.fit(ctx, m)
	if err != nil {
		return nil, nil, fmt.Errorf("distill: %w", err)
	}
	return m, rep, nil
}

// studentTargets returns the teacher's raw outputs on rows, expressed in the
// student's output space (for regression: standardized with the student's
// target statistics).
func studentTargets(teacher, student *Model, rows [][]float64) ([][]float64, error) {
	t, err := teacher.Logits(rows)
	if err != nil {
		return nil, fmt.Errorf("teacher outputs: %w", err)
	}
	if teacher.Task == Regression {
		for _, r := range t {
			r[0] = (r[0]*teacher.TargetStd + teacher.TargetMean - student.TargetMean) / student.TargetStd
		}
	}
	return t, nil
}
