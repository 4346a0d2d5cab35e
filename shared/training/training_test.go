package training_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/eval"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/step"
	"github.com/megapipe/mega/shared/training"
)

func TestMetrics(t *testing.T) {
	auc := 0.9
	tests := []struct {
		name   string
		scores nn.Scores
		want   map[string]float64
	}{
		{"binary", nn.Scores{Classification: &eval.Classification{Accuracy: 0.8, MacroF1: 0.7, LogLoss: 0.4, ROCAUC: &auc}},
			map[string]float64{"int8_accuracy": 0.8, "int8_macro_f1": 0.7, "int8_log_loss": 0.4, "int8_roc_auc": 0.9}},
		{"multiclass has no ROC AUC", nn.Scores{Classification: &eval.Classification{Accuracy: 0.5, MacroF1: 0.25, LogLoss: 1.5}},
			map[string]float64{"int8_accuracy": 0.5, "int8_macro_f1": 0.25, "int8_log_loss": 1.5}},
		{"regression", nn.Scores{Regression: &eval.Regression{RMSE: 2, MAE: 1, R2: 0.5}},
			map[string]float64{"int8_rmse": 2, "int8_mae": 1, "int8_r2": 0.5}},
		{"none", nn.Scores{}, map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, training.Metrics("int8", tt.scores)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	tests := []struct {
		err       error
		permanent bool
	}{
		{fmt.Errorf("train: %w", nn.ErrBadData), true},
		{fmt.Errorf("train: %w", nn.ErrBadConfig), true},
		{fmt.Errorf("load: %w", nn.ErrBadModel), true},
		{context.DeadlineExceeded, false},
		{errors.New("storage unavailable"), false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			got := training.Permanent(tt.err)
			if step.IsPermanent(got) != tt.permanent {
				t.Errorf("IsPermanent(Permanent(%v)) = %v, want %v", tt.err, !tt.permanent, tt.permanent)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("Permanent(%v) = %v, no longer wraps it", tt.err, got)
			}
		})
	}
}
