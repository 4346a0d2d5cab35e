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
				ArtifactsBucket: "megapipe-local-artifacts", TrainBackend: "local", LogLevel: "info"},
		},
		{
			name: "project and prefix",
			env:  map[string]string{"GOOGLE_CLOUD_PROJECT": "acme-ml", "MEGA_PREFIX": "mp", "MEGA_ARTIFACTS_BUCKET": "art"},
			want: Config{Project: "acme-ml", RawBucket: "mp-raw", ModelsBucket: "mp-models", ArtifactsBucket: "art",
				TrainBackend: "local", LogLevel: "info"},
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
