package dataset

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wineExpected is wine_dirty.expected.json, written by make_wine_dirty.py
// from the way it built the files.
type wineExpected struct {
	Rows           int64    `json:"rows"`
	Clean          int64    `json:"clean"`
	Quarantined    int64    `json:"quarantined"`
	NumericColumns []string `json:"numeric_columns"`
	Classes        []string `json:"classes"`
	Bad            []struct {
		Line   int    `json:"line"`
		Column string `json:"column"`
		Value  string `json:"value"`
	} `json:"bad"`
	MoreRows int64 `json:"more_rows"`
}

func readWineExpected(t *testing.T) wineExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "wine_dirty.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var w wineExpected
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestWineDirtyFirstDrop replays issue 17's bad first file: one "abc",
// "inf", "Infinity", "-inf" or "1.2.3" in a numeric column of the first drop
// leaves every column numeric and quarantines exactly those rows with a
// reason; a later clean drop is then all clean.
func TestWineDirtyFirstDrop(t *testing.T) {
	want := readWineExpected(t)
	res, fr, qs, err := ingestFile(t, "wine_dirty.csv", IngestOptions{Infer: InferOptions{Dataset: "wine"}})
	if err != nil {
		t.Fatal(err)
	}
	var numeric []string
	for _, f := range res.Schema.Features {
		if f.Type == Numeric {
			numeric = append(numeric, f.Name)
		}
		if f.Nullable {
			t.Errorf("column %q is nullable; no value is missing", f.Name)
		}
	}
	if diff := cmp.Diff(want.NumericColumns, numeric); diff != "" {
		t.Errorf("numeric columns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Classes, res.Schema.Classes()); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if res.Rows != want.Rows || res.Clean != want.Clean || res.Bad != want.Quarantined || int64(fr.Len) != want.Clean {
		t.Errorf("rows %d clean %d bad %d (frame %d), want %d %d %d", res.Rows, res.Clean, res.Bad, fr.Len, want.Rows, want.Clean, want.Quarantined)
	}
	if len(qs) != len(want.Bad) {
		t.Fatalf("%d quarantined, want %d: %+v", len(qs), len(want.Bad), qs)
	}
	for i, b := range want.Bad {
		q := qs[i]
		if q.Line != b.Line || q.Column != b.Column || !strings.Contains(q.Reason, `"`+b.Value+`"`) {
			t.Errorf("quarantined %d = line %d column %q reason %q, want line %d column %q about %q", i, q.Line, q.Column, q.Reason, b.Line, b.Column, b.Value)
		}
	}
	if diff := cmp.Diff(map[string]int64{"alcohol": 1, "ash": 1, "total_phenols": 1, "color_intensity": 1, "proline": 1}, res.Columns); diff != "" {
		t.Errorf("quarantined per column (-want +got):\n%s", diff)
	}

	more, _, qs2, err := ingestFile(t, "wine_more.csv", IngestOptions{Schema: res.Schema})
	if err != nil {
		t.Fatal(err)
	}
	if more.Clean != want.MoreRows || more.Bad != 0 {
		t.Errorf("later clean drop: %d clean, %d quarantined (%+v), want %d clean", more.Clean, more.Bad, qs2, want.MoreRows)
	}
}

// TestSchemaConflictNamesEveryColumn: a later drop whose columns differ from
// the stored schema names every conflicting column in one error.
func TestSchemaConflictNamesEveryColumn(t *testing.T) {
	s := smallSchema(t)
	open := func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("radius,texture,color,label\n1,2,red,0\n")), nil
	}
	_, err := Ingest(open, IngestOptions{Name: "x.csv", Schema: s}, io.Discard, io.Discard)
	if !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("err = %v, want %v", err, ErrSchemaMismatch)
	}
	for _, w := range []string{`column "radius", "texture" not in the schema`, `lacks column "mean radius", "mean texture"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want it to say %s", err, w)
		}
	}
}

func TestSchemaConflicts(t *testing.T) {
	s := smallSchema(t)
	same := *s
	if c := s.Conflicts(&same); len(c) != 0 {
		t.Errorf("same schema: conflicts %q", c)
	}
	other, err := ParseSchema([]byte(`{"version":1,"label":"label","task":"classification","features":[
		{"name":"mean radius","type":"categorical","values":["a","b"],"nullable":false},
		{"name":"color","type":"categorical","values":["blue","red"],"nullable":true},
		{"name":"x","type":"numeric","nullable":false},
		{"name":"label","type":"label","values":["0","1"],"nullable":false}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`column "mean radius": categorical, stored numeric`,
		`column "mean texture": in the stored schema only`,
		`column "color": values blue,red, stored blue,green,red`,
		`column "x": not in the stored schema`,
	}
	if diff := cmp.Diff(want, s.Conflicts(other)); diff != "" {
		t.Errorf("conflicts (-want +got):\n%s", diff)
	}
}
