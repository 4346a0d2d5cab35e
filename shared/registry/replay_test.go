package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/shared/registry"
)

// TestReplayNeverRollsBack replays issue 17's registry half: a replayed old
// run rewrote v1's int8 checksum with v3's and moved serving back to v1.
// Now a second write of a registered artifact with other bytes is refused,
// an older version cannot be promoted over the serving one, and a person
// rolls back explicitly, recorded with who and why.
func TestReplayNeverRollsBack(t *testing.T) {
	env := emulatortest.Start(t)
	ctx := context.Background()
	r := registry.New(env.Firestore())
	pass := &registry.Gate{Passed: true}
	reg := func(run, sha string) registry.Version {
		v, err := r.Register(ctx, registry.Version{Model: "dup", RunID: run, Gate: pass,
			Artifacts: map[string]registry.Artifact{"int8": {URI: "gs://a/" + run + "/int8.tflite", SHA256: sha, Size: 10}}})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v1, v2 := reg("run-1", "sha-v1"), reg("run-2", "sha-v2")

	// Immutable artifacts: the same bytes again are fine, other bytes are
	// refused and the checksum stays.
	same := map[string]any{"artifacts": map[string]any{"int8": registry.Artifact{URI: "gs://a/run-1/int8.tflite", SHA256: "sha-v1", Size: 10}}}
	if err := r.Update(ctx, "dup", v1.Version, same); err != nil {
		t.Errorf("rewrite with the same bytes: %v", err)
	}
	other := map[string]any{"artifacts": map[string]any{"int8": registry.Artifact{URI: "gs://a/run-1/int8.tflite", SHA256: "sha-v3", Size: 12}},
		"metrics": map[string]float64{"int8_accuracy": 0.5}}
	err := r.Update(ctx, "dup", v1.Version, other)
	if !errors.Is(err, registry.ErrImmutable) || !strings.Contains(err.Error(), "sha-v1") || !strings.Contains(err.Error(), "sha-v3") {
		t.Errorf("rewrite with other bytes: %v, want ErrImmutable naming both checksums", err)
	}
	if got, _ := r.Get(ctx, "dup", v1.Version); got.Artifacts["int8"].SHA256 != "sha-v1" || got.Metrics["int8_accuracy"] != 0 {
		t.Errorf("after the refused write: %+v %v", got.Artifacts["int8"], got.Metrics)
	}
	// Benchmarks are measurements and may be re-measured; new artifacts may
	// be added.
	if err := r.Update(ctx, "dup", v1.Version, map[string]any{"artifacts": map[string]any{
		"benchmark": registry.Artifact{URI: "gs://a/b.json", SHA256: "b1"}, "student": registry.Artifact{URI: "gs://a/s", SHA256: "s1"}}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Update(ctx, "dup", v1.Version, map[string]any{"artifacts": map[string]any{"benchmark": registry.Artifact{URI: "gs://a/b.json", SHA256: "b2"}}}); err != nil {
		t.Errorf("re-measured benchmark: %v", err)
	}

	// Serving never moves backwards by accident.
	if _, err := r.Promote(ctx, "dup", v2.Version); err != nil {
		t.Fatal(err)
	}
	_, err = r.Promote(ctx, "dup", v1.Version)
	if !errors.Is(err, registry.ErrOlderVersion) || !strings.Contains(err.Error(), "mega models dup --rollback "+v1.Version) {
		t.Errorf("promote of an older version: %v, want ErrOlderVersion with the rollback command", err)
	}
	if s, _ := r.Serving(ctx, "dup"); s.Version != v2.Version {
		t.Fatalf("serving %s after a refused promotion, want %s", s.Version, v2.Version)
	}
	if _, err := r.Promote(ctx, "dup", v2.Version); err != nil {
		t.Errorf("re-promoting the serving version: %v", err)
	}

	// An explicit rollback needs who and why, and records them.
	if _, err := r.Rollback(ctx, "dup", v1.Version, "ana", ""); err == nil {
		t.Error("rollback without a reason: no error")
	}
	s, err := r.Rollback(ctx, "dup", v1.Version, "ana@host", "v2 misclassifies class 2")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.Serving(ctx, "dup")
	if got.Version != v1.Version || got.Rollback == nil || got.Rollback.By != "ana@host" || got.Rollback.Why != "v2 misclassifies class 2" ||
		got.Rollback.From != v2.Version || got.Rollback.At.IsZero() || s.Rollback == nil {
		t.Errorf("after rollback: %+v %+v", got, got.Rollback)
	}
	// Moving forward again is an ordinary promotion, with no rollback note.
	if fw, err := r.Promote(ctx, "dup", v2.Version); err != nil || fw.Rollback != nil {
		t.Errorf("promote forward after a rollback: %+v %v", fw, err)
	}
}
