package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromLookup(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr bool
	}{
		{
			name: "defaults",
			env:  nil,
			want: Config{Project: "megapipe-local", RawBucket: "megapipe-local-raw", ModelsBucket: "megapipe-local-models",
				ArtifactsBucket: "megapipe-local-artifacts", TrainBackend: "local", LogLevel: "info", Region: "us-central1"},
		},
		{
			name: "project and prefix",
			env:  map[string]string{"GOOGLE_CLOUD_PROJECT": "acme-ml", "MEGA_PREFIX": "mp", "MEGA_ARTIFACTS_BUCKET": "art"},
			want: Config{Project: "acme-ml", RawBucket: "mp-raw", ModelsBucket: "mp-models", ArtifactsBucket: "art",
				TrainBackend: "local", LogLevel: "info", Region: "us-central1"},
		},
		{name: "bad backend", env: map[string]string{"MEGA_TRAIN_BACKEND": "gpu"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fromLookup(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrainingFromLookup(t *testing.T) {
	env := map[string]string{"MEGA_TEACHER_HIDDEN": "128, 64", "MEGA_SPARSITY": "0.8", "MEGA_GATE_BOUND": "0.02",
		"MEGA_GATE_TEACHER_BOUND": "0.1", "MEGA_GATE_CHAMPION_BOUND": "0.005"}
	got, err := trainingFromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	want := Training{TeacherHidden: []int{128, 64}, StudentHidden: []int{128, 64}, Epochs: 200, Seed: 1,
		Temperature: 4, Alpha: 0.7, Sparsity: 0.8, GateBound: 0.02, ModelIO: "float",
		GateBaselineMargin: 0.02, GateTeacherBound: 0.1, GateChampionBound: 0.005}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("training (-want +got):\n%s", diff)
	}
	for _, bad := range []map[string]string{
		{"MEGA_TEACHER_HIDDEN": "64,x"}, {"MEGA_SPARSITY": "1.5"}, {"MEGA_MODEL_IO": "int4"}, {"MEGA_EPOCHS": "0"},
		{"MEGA_GATE_BASELINE_MARGIN": "-0.1"}, {"MEGA_GATE_TEACHER_BOUND": "2"},
	} {
		if _, err := trainingFromLookup(func(k string) (string, bool) { v, ok := bad[k]; return v, ok }); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
