package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/functions/ingest"
	"github.com/megapipe/mega/shared/dataset"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/runs"
)

// TestWineDirtyFirstDrop replays issue 17's "the first file decides the
// schema" on the emulators: wine_dirty.csv (178 rows, 5 with one "abc",
// "inf", "Infinity", "-inf" or "1.2.3" in a numeric column) as a dataset's
// first drop gives 13 numeric columns, 173 clean rows and 5 quarantined with
// reasons; a later clean drop is then all clean.
func TestWineDirtyFirstDrop(t *testing.T) {
	var want struct {
		Rows        int64 `json:"rows"`
		Clean       int64 `json:"clean"`
		Quarantined int64 `json:"quarantined"`
		MoreRows    int64 `json:"more_rows"`
		Bad         []struct {
			Line   int    `json:"line"`
			Column string `json:"column"`
		} `json:"bad"`
	}
	b, err := os.ReadFile(filepath.Join(fixtures, "wine_dirty.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, nil)
	ev := w.drop("wine_dirty.csv", "wine/wine_dirty.csv", nil)
	w.deliver(ev, 30*time.Second)
	st := w.run(runIDOf(ev)).Steps[ingest.StepName]
	if st.Status != runs.StatusSucceeded {
		t.Fatalf("ingest %s: %s", st.Status, st.Reason)
	}
	wantCounts := map[string]int64{"rows": want.Rows, "clean": want.Clean, "quarantined": want.Quarantined}
	if diff := cmp.Diff(wantCounts, st.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	for _, bad := range want.Bad {
		if !strings.Contains(st.Reason, bad.Column+": 1 (") {
			t.Errorf("reason %q does not name column %q", st.Reason, bad.Column)
		}
	}
	var got []string
	for _, q := range w.quarantine(st.Outputs["quarantine"]) {
		got = append(got, q.Column)
		if q.Reason == "" {
			t.Errorf("line %d quarantined without a reason", q.Line)
		}
	}
	var wantCols []string
	for _, bad := range want.Bad {
		wantCols = append(wantCols, bad.Column)
	}
	if diff := cmp.Diff(wantCols, got); diff != "" {
		t.Errorf("quarantined columns (-want +got):\n%s", diff)
	}
	sc := w.schemaOf(st.Outputs["schema"])
	for _, f := range sc.Features {
		if f.Type == dataset.Categorical {
			t.Errorf("column %q inferred categorical", f.Name)
		}
	}
	ev2 := w.drop("wine_more.csv", "wine/wine_more.csv", nil)
	w.deliver(ev2, 30*time.Second)
	st2 := w.run(runIDOf(ev2)).Steps[ingest.StepName]
	if st2.Status != runs.StatusSucceeded || st2.Counts["quarantined"] != 0 || st2.Counts["clean"] != want.MoreRows {
		t.Errorf("later clean drop: %s %v %q", st2.Status, st2.Counts, st2.Reason)
	}
}

// TestStatedSchema: a schema a person states (mega drop --schema FILE) is
// what the first drop is validated against; the same schema again is fine
// and a conflicting one is refused naming the columns.
func TestStatedSchema(t *testing.T) {
	w := newWorld(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stated, err := dataset.ParseSchema([]byte(`{"version":1,"label":"label","task":"classification","features":[
		{"name":"mean radius","type":"numeric","min":5,"max":30,"nullable":false},
		{"name":"mean texture","type":"numeric","nullable":false},
		{"name":"color","type":"categorical","values":["blue","green","red"],"nullable":true},
		{"name":"label","type":"label","values":["0","1"],"nullable":false}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := ingest.StoreSchema(ctx, w.env.Docs, "small", stated, "person:test"); err != nil {
		t.Fatal(err)
	}
	if err := ingest.StoreSchema(ctx, w.env.Docs, "small", stated, "person:test"); err != nil {
		t.Errorf("same schema again: %v", err)
	}
	other := *stated
	other.Features = append([]dataset.Feature(nil), stated.Features...)
	other.Features[1] = dataset.Feature{Name: "mean texture", Type: dataset.Categorical, Values: []string{"x"}}
	err = ingest.StoreSchema(ctx, w.env.Docs, "small", &other, "person:test")
	if !errors.Is(err, dataset.ErrSchemaMismatch) || !strings.Contains(err.Error(), `column "mean texture": categorical, stored numeric`) {
		t.Errorf("conflicting schema: err = %v", err)
	}
	// bad_rows.csv's first drop is validated against the stated schema (no
	// inference): its "1e6" is outside the stated range [5, 30].
	ev := w.drop("bad_rows.csv", "small/bad.csv", nil)
	w.deliver(ev, 30*time.Second)
	st := w.run(runIDOf(ev)).Steps[ingest.StepName]
	if st.Status != runs.StatusSucceeded || st.Counts["rows"] != 13 || st.Counts["clean"] != 3 {
		t.Errorf("first drop under a stated schema: %s %v %q", st.Status, st.Counts, st.Reason)
	}
	if !strings.Contains(st.Reason, "stored schema (from person:test)") {
		t.Errorf("reason %q does not name the stated schema", st.Reason)
	}
}

func (w *world) schemaOf(uri string) *dataset.Schema {
	w.t.Helper()
	b, n, _ := events.ParseObjectURI(uri)
	data, err := w.env.Blob.ReadAll(context.Background(), b, n)
	if err != nil {
		w.t.Fatal(err)
	}
	sc, err := dataset.ParseSchema(data)
	if err != nil {
		w.t.Fatal(err)
	}
	return sc
}
