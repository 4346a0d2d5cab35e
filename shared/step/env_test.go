package step_test

import (
	"testing"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/step"
)

// The work reads its training settings from Env.Lookup, so a batch run
// passes them without touching the process environment.
func TestEnvTrainingConfigFromLookup(t *testing.T) {
	t.Setenv("MEGA_EPOCHS", "9")
	env := &step.Env{}
	tc, err := env.TrainingConfig()
	if err != nil || tc.Epochs != 9 {
		t.Fatalf("nil Lookup: epochs %d, %v; want 9 from the environment", tc.Epochs, err)
	}
	env.Lookup = config.Over(func(string) (string, bool) { return "", false }, map[string]string{"MEGA_EPOCHS": "4", "MEGA_SPARSITY": "0.25"})
	tc, err = env.TrainingConfig()
	if err != nil || tc.Epochs != 4 || tc.Sparsity != 0.25 {
		t.Errorf("Lookup: epochs %d sparsity %g, %v; want 4 and 0.25", tc.Epochs, tc.Sparsity, err)
	}
}
