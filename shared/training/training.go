package training

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/step"
)

// Inputs are what the training steps read.
type Inputs struct {
	Spec   *features.Spec
	Splits *features.Splits
}

// LoadInputs reads the spec and the split rows named in a message.
func LoadInputs(ctx context.Context, env *step.Env, m *events.Message) (*Inputs, error) {
	raw, err := env.ReadArtifact(ctx, m.Artifacts["features"])
	if err != nil {
		return nil, err
	}
	spec, err := features.Parse(raw)
	if err != nil {
		return nil, step.Permanent(err)
	}
	r, err := env.OpenArtifact(ctx, m.Artifacts["clean"])
	if err != nil {
		return nil, err
	}
	defer r.Close()
	sp, err := spec.LoadSplits(r)
	if err != nil {
		return nil, step.Permanent(err)
	}
	if len(sp.Train.X) == 0 || len(sp.Val.X) == 0 || len(sp.Test.X) == 0 {
		return nil, step.Permanentf("too few rows to train: train %d, val %d, test %d", len(sp.Train.X), len(sp.Val.X), len(sp.Test.X))
	}
	return &Inputs{Spec: spec, Splits: sp}, nil
}

// ProgressReporter records training progress in the run record at most
// once a second.
func ProgressReporter(ctx context.Context, env *step.Env, runID, stepName string, epochs int) func(nn.Progress) {
	var last time.Time
	return func(p nn.Progress) {
		if time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		frac := min(0.95, float64(p.Epoch)/float64(max(1, epochs)))
		if err := env.Runs.Progress(ctx, runID, stepName, frac, nil); err != nil {
			slog.WarnContext(ctx, "cannot record progress", "error", err)
		}
		slog.DebugContext(ctx, "epoch", "stage", p.Stage, "epoch", p.Epoch, "train_loss", p.TrainLoss, "val_loss", p.ValLoss)
	}
}

// Permanent maps the trainer's input errors to permanent failures.
func Permanent(err error) error {
	if errors.Is(err, nn.ErrBadData) || errors.Is(err, nn.ErrBadConfig) || errors.Is(err, nn.ErrBadModel) {
		return step.Permanent(err)
	}
	return err
}

// Metrics flattens scores into registry metrics named prefix_metric.
func Metrics(prefix string, s nn.Scores) map[string]float64 {
	out := map[string]float64{}
	if c := s.Classification; c != nil {
		out[prefix+"_accuracy"], out[prefix+"_macro_f1"], out[prefix+"_log_loss"] = c.Accuracy, c.MacroF1, c.LogLoss
		if c.ROCAUC != nil {
			out[prefix+"_roc_auc"] = *c.ROCAUC
		}
	}
	if r := s.Regression; r != nil {
		out[prefix+"_rmse"], out[prefix+"_mae"], out[prefix+"_r2"] = r.RMSE, r.MAE, r.R2
	}
	return out
}
