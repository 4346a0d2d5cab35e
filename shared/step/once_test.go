package step_test

import (
	"context"
	"errors"
	"testing"

	"github.com/megapipe/mega/shared/step"
)

// TestWriteArtifactOnce: a run's model artifact is written once; an exact
// replay gets the same artifact, other bytes are a permanent error and the
// stored bytes stay (issue 17: v1's int8 was overwritten with v3's bytes).
func TestWriteArtifactOnce(t *testing.T) {
	_, env := newEnv(t)
	ctx := context.Background()
	a, err := env.WriteArtifactOnce(ctx, "run-1", "quantize", "int8.tflite", []byte("model one"), "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.WriteArtifactOnce(ctx, "run-1", "quantize", "int8.tflite", []byte("model one"), "application/octet-stream")
	if err != nil || b != a {
		t.Errorf("exact replay: %+v %v, want %+v", b, err, a)
	}
	_, err = env.WriteArtifactOnce(ctx, "run-1", "quantize", "int8.tflite", []byte("model three"), "application/octet-stream")
	if !errors.Is(err, step.ErrArtifactExists) || !step.IsPermanent(err) {
		t.Errorf("other bytes: %v, want a permanent ErrArtifactExists", err)
	}
	got, err := env.ReadArtifact(ctx, a.URI)
	if err != nil || string(got) != "model one" {
		t.Errorf("stored bytes %q %v, want the first write's", got, err)
	}
}
