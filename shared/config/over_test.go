package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Settings passed with Over win over the environment and derive what the
// environment would (the buckets from the project), without os.Setenv.
func TestOverExplicitSettings(t *testing.T) {
	base := mapLookup(map[string]string{"GOOGLE_CLOUD_PROJECT": "env-proj", "MEGA_EPOCHS": "7", "MEGA_SEED": "3"})
	lookup := Over(base, map[string]string{"GOOGLE_CLOUD_PROJECT": "flag-proj", "MEGA_EPOCHS": "2"})
	c, err := FromLookup(lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Project: "flag-proj", RawBucket: "flag-proj-raw", ModelsBucket: "flag-proj-models", ArtifactsBucket: "flag-proj-artifacts",
		TrainBackend: "local", LogLevel: "info", Region: "us-central1"}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("FromLookup (-want +got):\n%s", diff)
	}
	tr, err := TrainingFromLookup(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Epochs != 2 || tr.Seed != 3 {
		t.Errorf("training epochs %d seed %d, want 2 (the setting) and 3 (the environment)", tr.Epochs, tr.Seed)
	}
	if _, err := TrainingFromLookup(Over(base, map[string]string{"MEGA_EPOCHS": "many"})); err == nil {
		t.Error("MEGA_EPOCHS=many: no error")
	}
}
