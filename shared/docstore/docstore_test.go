package docstore_test

import (
	"context"
	"testing"

	"cloud.google.com/go/firestore"
	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/shared/docstore"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

type item struct {
	Name string `firestore:"name"`
	N    int64  `firestore:"n"`
}

func TestAll(t *testing.T) {
	fs := emulatortest.Start(t).Firestore()
	ctx := context.Background()
	for _, it := range []item{{"b", 2}, {"a", 1}, {"c", 3}} {
		if _, err := fs.Collection("items").Doc(it.Name).Set(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	got, err := docstore.All[item](ctx, fs.Collection("items").OrderBy("n", firestore.Desc))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]item{{"c", 3}, {"b", 2}, {"a", 1}}, got); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
	if _, err := fs.Collection("bad").Doc("x").Set(ctx, map[string]any{"n": "not a number"}); err != nil {
		t.Fatal(err)
	}
	if _, err := docstore.All[item](ctx, fs.Collection("bad").Query); err == nil {
		t.Error("a document that does not decode gave no error")
	}
}
