package gcs

import (
	"context"
	"io"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
)

func TestStartErrors(t *testing.T) {
	t.Setenv("PUBSUB_EMULATOR_HOST", "")
	tests := map[string]Options{
		"topic without project":  {NotifyTopic: "gcs-events"},
		"topic without emulator": {NotifyTopic: "gcs-events", Project: "p"},
		"bad host":               {Host: "256.0.0.1"},
	}
	for name, o := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := Start(context.Background(), o)
			if err == nil {
				s.Stop(context.Background())
				t.Fatal("Start succeeded")
			}
			if !strings.HasPrefix(err.Error(), "start gcs: ") {
				t.Errorf("error %q lacks the operation prefix", err)
			}
		})
	}
}

// TestReadPaths: objects read back through the storage client configured
// only by STORAGE_EMULATOR_HOST (XML reads, which need the public host to
// match) and through Client (JSON reads).
func TestReadPaths(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Options{Buckets: []string{"b-raw"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(ctx)
	c, err := s.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := c.Bucket("b-raw").Object("d/x y.csv").NewWriter(ctx)
	io.WriteString(w, "hello")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", s.Addr())
	env, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	// The form `mega local env` prints (with the scheme, as Python needs).
	t.Setenv("STORAGE_EMULATOR_HOST", s.URL())
	envURL, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer envURL.Close()
	for name, client := range map[string]*storage.Client{"Client": c, "STORAGE_EMULATOR_HOST": env, "STORAGE_EMULATOR_HOST with scheme": envURL} {
		r, err := client.Bucket("b-raw").Object("d/x y.csv").NewReader(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != "hello" {
			t.Errorf("%s read %q", name, b)
		}
	}
	s.CreateBucket("b-models")
	if _, err := c.Bucket("b-models").Attrs(ctx); err != nil {
		t.Errorf("CreateBucket: %v", err)
	}
}
