package blob_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/emulators/gcs"
	"github.com/megapipe/mega/shared/blob"
)

// store starts an embedded fake-gcs-server with bucket "b" and returns a
// Store talking to it over HTTP, as in the local stack.
func store(t *testing.T) *blob.Store {
	t.Helper()
	ctx := context.Background()
	srv, err := gcs.Start(ctx, gcs.Options{Buckets: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	t.Setenv("STORAGE_EMULATOR_HOST", srv.URL())
	s, err := blob.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPutIf(t *testing.T) {
	s := store(t)
	ctx := context.Background()
	o := blob.WriteOptions{ContentType: "text/plain"}
	g1, err := s.PutIf(ctx, "b", "x", []byte("one"), o, 0)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if g1 <= 0 {
		t.Fatalf("create returned generation %d", g1)
	}
	if _, err := s.PutIf(ctx, "b", "x", []byte("two"), o, 0); !errors.Is(err, blob.ErrPrecondition) {
		t.Fatalf("create over an existing object: %v, want ErrPrecondition", err)
	}
	b, g, err := s.ReadGen(ctx, "b", "x")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "one" || g != g1 {
		t.Fatalf("ReadGen = %q gen %d, want %q gen %d", b, g, "one", g1)
	}
	g2, err := s.PutIf(ctx, "b", "x", []byte("two"), o, g1)
	if err != nil {
		t.Fatalf("update at the read generation: %v", err)
	}
	if g2 == g1 {
		t.Fatalf("update kept generation %d", g1)
	}
	if _, err := s.PutIf(ctx, "b", "x", []byte("three"), o, g1); !errors.Is(err, blob.ErrPrecondition) {
		t.Fatalf("update at a stale generation: %v, want ErrPrecondition", err)
	}
	if b, g, err = s.ReadGen(ctx, "b", "x"); err != nil || string(b) != "two" || g != g2 {
		t.Fatalf("after the refused update: %q gen %d err %v, want %q gen %d", b, g, err, "two", g2)
	}
	if _, _, err := s.ReadGen(ctx, "b", "nothing"); !errors.Is(err, blob.ErrNotExist) {
		t.Errorf("ReadGen of a missing object: %v, want ErrNotExist", err)
	}
	if _, err := s.PutIf(ctx, "b", "x", nil, o, -1); err == nil || errors.Is(err, blob.ErrPrecondition) {
		t.Errorf("negative generation: %v, want a plain error", err)
	}
}

// Concurrent read-modify-write loops on one counter object: with PutIf no
// increment is lost, so the final value is the number of increments.
func TestPutIfConcurrentCounter(t *testing.T) {
	s := store(t)
	ctx := context.Background()
	const workers, each = 6, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				for {
					b, gen, err := s.ReadGen(ctx, "b", "counter")
					n := 0
					switch {
					case errors.Is(err, blob.ErrNotExist):
						gen = 0
					case err != nil:
						errs[w] = err
						return
					default:
						if n, err = strconv.Atoi(string(b)); err != nil {
							errs[w] = err
							return
						}
					}
					_, err = s.PutIf(ctx, "b", "counter", []byte(strconv.Itoa(n+1)), blob.WriteOptions{}, gen)
					if errors.Is(err, blob.ErrPrecondition) {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if err != nil {
						errs[w] = err
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	b, _, err := s.ReadGen(ctx, "b", "counter")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strconv.Itoa(workers*each), string(b)); diff != "" {
		t.Errorf("counter (-want +got):\n%s", diff)
	}
	t.Logf("%d increments, %d precondition conflicts retried", workers*each, conflicts)
}
