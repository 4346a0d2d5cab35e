package blob_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/api/option"

	"github.com/megapipe/mega/shared/blob"
)

// fakeStore returns a Store on an in-process fakestorage server, reached only
// through client options (no environment variable).
func fakeStore(t *testing.T) (*blob.Store, *fakestorage.Server) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1",
		InitialObjects: []fakestorage.Object{{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "b", Name: "seed.txt"}, Content: []byte("seed")}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	s, err := blob.New(context.Background(), option.WithEndpoint(srv.URL()+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, srv
}

func TestFakeStorageRoundTrip(t *testing.T) {
	s, srv := fakeStore(t)
	ctx := context.Background()
	g1, err := s.Put(ctx, "b", "runs/r1/a.json", []byte(`{"v":1}`), blob.WriteOptions{ContentType: "application/json", Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	// The fake's own view of the object, not the Store's.
	obj, err := srv.GetObject("b", "runs/r1/a.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(obj.Content) != `{"v":1}` || obj.ContentType != "application/json" || obj.Generation != g1 {
		t.Errorf("server holds %q %q generation %d, want the written object of generation %d", obj.Content, obj.ContentType, obj.Generation, g1)
	}
	a, err := s.Stat(ctx, "b", "runs/r1/a.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(blob.Attrs{Bucket: "b", Name: "runs/r1/a.json", Size: 7, Generation: g1, ContentType: "application/json",
		Metadata: map[string]string{"k": "v"}}, a, cmpopts.IgnoreFields(blob.Attrs{}, "Created", "Updated")); diff != "" {
		t.Errorf("Stat (-want +got):\n%s", diff)
	}
	got, err := s.ReadAll(ctx, "b", "seed.txt")
	if err != nil || string(got) != "seed" {
		t.Errorf("ReadAll(seed.txt) = %q, %v; want seed", got, err)
	}
	r, err := s.Open(ctx, "b", "runs/r1/a.json", g1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(b) != `{"v":1}` {
		t.Errorf("Open at generation %d read %q, %v", g1, b, err)
	}
	list, err := s.List(ctx, "b", "runs/")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "runs/r1/a.json" {
		t.Errorf("List(runs/) = %+v, want the one object under runs/", list)
	}
}

func TestFakeStorageErrors(t *testing.T) {
	s, _ := fakeStore(t)
	ctx := context.Background()
	if _, err := s.Stat(ctx, "b", "nope"); !errors.Is(err, blob.ErrNotExist) {
		t.Errorf("Stat of a missing object: %v, want ErrNotExist", err)
	}
	if _, err := s.ReadAll(ctx, "b", "nope"); !errors.Is(err, blob.ErrNotExist) {
		t.Errorf("ReadAll of a missing object: %v, want ErrNotExist", err)
	}
	if _, err := s.PutIf(ctx, "b", "seed.txt", []byte("x"), blob.WriteOptions{}, 0); !errors.Is(err, blob.ErrPrecondition) {
		t.Errorf("PutIf(does not exist) over an existing object: %v, want ErrPrecondition", err)
	}
	if _, err := s.PutIf(ctx, "b", "seed.txt", []byte("x"), blob.WriteOptions{}, -1); err == nil {
		t.Error("PutIf with generation -1: no error")
	}
	data, gen, err := s.ReadGen(ctx, "b", "seed.txt")
	if err != nil || string(data) != "seed" {
		t.Fatalf("ReadGen = %q, %v", data, err)
	}
	if _, err := s.PutIf(ctx, "b", "seed.txt", []byte("new"), blob.WriteOptions{}, gen); err != nil {
		t.Errorf("PutIf at the read generation: %v", err)
	}
	if _, err := s.PutIf(ctx, "b", "seed.txt", []byte("lost"), blob.WriteOptions{}, gen); !errors.Is(err, blob.ErrPrecondition) {
		t.Errorf("PutIf at a stale generation: %v, want ErrPrecondition", err)
	}
	if got, _ := s.ReadAll(ctx, "b", "seed.txt"); string(got) != "new" {
		t.Errorf("after the refused write the object holds %q, want new", got)
	}
}

func TestFakeStorageEnsureBucket(t *testing.T) {
	s, srv := fakeStore(t)
	ctx := context.Background()
	for range 2 { // the second call finds it
		if err := s.EnsureBucket(ctx, "p", "fresh"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.Client().Bucket("fresh").Attrs(ctx); err != nil {
		t.Errorf("bucket not on the server: %v", err)
	}
}
