package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/shared/registry"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

func TestRegisterIsIdempotentPerRun(t *testing.T) {
	env := emulatortest.Start(t)
	ctx := context.Background()
	r := registry.New(env.Firestore())
	v1, err := r.Register(ctx, registry.Version{Model: "iris", RunID: "run-a", Task: "multiclass"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Register(ctx, registry.Version{Model: "iris", RunID: "run-a"})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := r.Register(ctx, registry.Version{Model: "iris", RunID: "run-b"})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != "v1" || again.Version != "v1" || v2.Version != "v2" {
		t.Errorf("versions = %s, %s (replay), %s; want v1, v1, v2", v1.Version, again.Version, v2.Version)
	}
	vs, err := r.Versions(ctx, "iris")
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions = %d, %v; want 2", len(vs), err)
	}
}

func TestPromoteNeedsPassedGate(t *testing.T) {
	env := emulatortest.Start(t)
	ctx := context.Background()
	r := registry.New(env.Firestore())
	art := map[string]registry.Artifact{"int8": {URI: "gs://a/m.tflite", SHA256: "abc", Size: 10}}
	bad, _ := r.Register(ctx, registry.Version{Model: "m", RunID: "r1", Artifacts: art, Gate: &registry.Gate{Passed: false}})
	good, _ := r.Register(ctx, registry.Version{Model: "m", RunID: "r2", Artifacts: art, Gate: &registry.Gate{Passed: true}})
	if _, err := r.Promote(ctx, "m", bad.Version); !errors.Is(err, registry.ErrGateFailed) {
		t.Fatalf("promote of a refused version = %v, want ErrGateFailed", err)
	}
	if _, err := r.Serving(ctx, "m"); !errors.Is(err, registry.ErrNotServable) {
		t.Fatalf("serving before any promotion = %v, want ErrNotServable", err)
	}

	moved := make(chan registry.Serving, 4)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.Watch(wctx, 100*time.Millisecond, func(name string, s registry.Serving) { moved <- s })

	s, err := r.Promote(ctx, "m", good.Version)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != good.Version || s.SHA256 != "abc" {
		t.Errorf("serving = %+v", s)
	}
	select {
	case got := <-moved:
		if got.Version != good.Version {
			t.Errorf("watch saw %s, want %s", got.Version, good.Version)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not see the pointer move")
	}
	v, _ := r.Get(ctx, "m", good.Version)
	if v.Status != "serving" {
		t.Errorf("status = %q, want serving", v.Status)
	}
}
