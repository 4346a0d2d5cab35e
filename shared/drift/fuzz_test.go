package drift

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func seedRef(f *testing.F) *Reference {
	f.Helper()
	// Few bins keep the seeds small, which the fuzzer needs to make progress.
	b0, err := NewReferenceBuilder(testSchema, BuilderOptions{Bins: 4, FineBins: 8, MaxCategories: 3})
	if err != nil {
		f.Fatal(err)
	}
	for _, row := range rows(41, 300, 0) {
		if err := b0.Add(row); err != nil {
			f.Fatal(err)
		}
	}
	ref, err := b0.Build()
	if err != nil {
		f.Fatal(err)
	}
	b, err := json.Marshal(ref)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"version":1,"features":[{"name":"a","kind":"numeric","count":1,"numeric":{"edges":[],"hist":[1],"fine_edges":[],"fine_hist":[1],"fine_sum":[2]}}]}`))
	f.Add([]byte(`{"version":1,"features":[{"name":"c","kind":"categorical","count":2,"categorical":{"values":["x"],"counts":[1],"other":1}}]}`))
	return ref
}

// Run with -fuzzminimizetime 1x: minimizing the large JSON seeds otherwise
// stalls the fuzzer for minutes.
//
// FuzzParseReference: any input parses to a valid reference or fails with an
// error; a parsed reference takes rows and checks without panicking.
func FuzzParseReference(f *testing.F) {
	seedRef(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ref, err := ParseReference(data)
		if err != nil {
			return
		}
		w, err := NewWindow(ref)
		if err != nil {
			t.Fatal(err)
		}
		row := make(Row, len(ref.Features))
		for i, p := range ref.Features {
			if p.Kind == Numeric {
				row[i] = Num(float64(i))
			} else {
				row[i] = Cat("x")
			}
		}
		for range 120 {
			if err := w.Add(row); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Check(ref, w, DefaultPolicy()); err != nil && ref.Features[0].Count > 0 {
			t.Logf("check: %v", err)
		}
	})
}

// FuzzParseWindow: windows are parsed against a fixed reference.
func FuzzParseWindow(f *testing.F) {
	ref := seedRef(f)
	w := fold(f, ref, rows(42, 200, 0.3))
	b, err := json.Marshal(w)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	if seeds, err := os.ReadDir(filepath.Join("testdata", "windows")); err == nil {
		for _, s := range seeds {
			if data, err := os.ReadFile(filepath.Join("testdata", "windows", s.Name())); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := ParseWindow(data, ref)
		if err != nil {
			return
		}
		if _, err := Check(ref, w, DefaultPolicy()); err != nil {
			t.Logf("check: %v", err)
		}
		if err := w.Merge(w.Clone()); err != nil {
			t.Fatal(err)
		}
	})
}
