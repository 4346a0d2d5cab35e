package dataset

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const fixtures = "../../testdata/datasets"

func fileSource(t *testing.T, name string) Source {
	t.Helper()
	p := filepath.Join(fixtures, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return func() (io.ReadCloser, error) { return os.Open(p) }
}

func ingestFile(t *testing.T, name string, opt IngestOptions) (Result, *Frame, []Quarantined, error) {
	t.Helper()
	opt.Name = name
	var clean, quar bytes.Buffer
	res, err := Ingest(fileSource(t, name), opt, &clean, &quar)
	if err != nil {
		return res, nil, nil, err
	}
	fr, err := Load(bytes.NewReader(clean.Bytes()), nil)
	if err != nil {
		t.Fatalf("load clean output: %v", err)
	}
	var qs []Quarantined
	dec := json.NewDecoder(&quar)
	for dec.More() {
		var q Quarantined
		if err := dec.Decode(&q); err != nil {
			t.Fatalf("quarantine: %v", err)
		}
		qs = append(qs, q)
	}
	return res, fr, qs, nil
}

// TestBreastCancer infers the schema of the scikit-learn data and checks it
// against values read independently with encoding/csv and strconv.
func TestBreastCancer(t *testing.T) {
	res, fr, qs, err := ingestFile(t, "breast_cancer.csv", IngestOptions{Infer: InferOptions{Dataset: "breast_cancer"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(fixtures, "breast_cancer.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header, rows := recs[0], recs[1:]
	if len(qs) != 0 || res.Clean != int64(len(rows)) || fr.Len != len(rows) || !res.Inferred {
		t.Fatalf("result %+v, %d quarantined, frame of %d rows; want %d clean", res, len(qs), fr.Len, len(rows))
	}
	s := res.Schema
	if s.Task != Classification || s.Label != "label" || !cmp.Equal(s.Classes(), []string{"0", "1"}) {
		t.Errorf("task %q label %q classes %v", s.Task, s.Label, s.Classes())
	}
	for j, name := range header[:30] {
		lo, hi := 1e300, -1e300
		for i, r := range rows {
			v, err := strconv.ParseFloat(r[j], 64)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi = min(lo, v), max(hi, v)
			if got := fr.Columns[j].Num[i]; got != float32(v) {
				t.Fatalf("row %d %q = %v, want %v", i, name, got, float32(v))
			}
		}
		ft := s.Features[j]
		if ft.Name != name || ft.Type != Numeric || ft.Nullable || *ft.ObservedMin != lo || *ft.ObservedMax != hi {
			t.Errorf("feature %d = %+v, want %q numeric [%v, %v]", j, ft, name, lo, hi)
		}
	}
	for i, r := range rows {
		if want, _ := strconv.Atoi(r[30]); int(fr.Class[i]) != want {
			t.Fatalf("row %d class %d, want %d", i, fr.Class[i], want)
		}
	}
	js, err := s.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "breast_cancer.schema.json", js)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("golden file (run go test -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-golden +got):\n%s", name, diff)
	}
}

func smallSchema(t *testing.T) *Schema {
	t.Helper()
	res, _, _, err := ingestFile(t, "small.csv", IngestOptions{Infer: InferOptions{Dataset: "small"}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Schema
}

func TestSmallSchemaInference(t *testing.T) {
	s := smallSchema(t)
	// mean radius observed [11.42, 20.57]: width 9.15, margin 0.5 -> [6.845, 25.145].
	want := &Schema{Version: 1, Dataset: "small", Label: "label", Task: Classification, Features: []Feature{
		{Name: "mean radius", Type: Numeric, Min: ptr(6.845), Max: ptr(25.145), ObservedMin: ptr(11.42), ObservedMax: ptr(20.57)},
		{Name: "mean texture", Type: Numeric, Min: ptr(5.38), Max: ptr(25.38), ObservedMin: ptr(10.38), ObservedMax: ptr(20.38)},
		{Name: "color", Type: Categorical, Values: []string{"blue", "green", "red"}, Nullable: true},
		{Name: "label", Type: Label, Values: []string{"0", "1"}},
	}}
	if diff := cmp.Diff(want, s, cmp.Comparer(func(a, b float64) bool { return a == b || (a-b)*(a-b) < 1e-24 })); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
}

// TestSameRowsEveryEncoding: CRLF, a BOM and JSON Lines give the rows of
// small.csv.
func TestSameRowsEveryEncoding(t *testing.T) {
	s := smallSchema(t)
	_, want, _, err := ingestFile(t, "small.csv", IngestOptions{Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"small_crlf.csv", "small_bom.csv", "small.jsonl"} {
		t.Run(name, func(t *testing.T) {
			res, got, qs, err := ingestFile(t, name, IngestOptions{Schema: s})
			if err != nil {
				t.Fatal(err)
			}
			if len(qs) != 0 || res.Clean != 6 {
				t.Errorf("clean %d, quarantined %v", res.Clean, qs)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("frame (-small.csv +%s):\n%s", name, diff)
			}
		})
	}
}

func TestBadRows(t *testing.T) {
	s := smallSchema(t)
	res, fr, qs, err := ingestFile(t, "bad_rows.csv", IngestOptions{Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	want := []Quarantined{
		{Line: 3, Reason: "3 fields, want 4", Fields: []string{"15.0", "19.1", "blue"}},
		{Line: 4, Column: "mean radius", Reason: `"abc" is not a number`, Fields: []string{"abc", "19.1", "blue", "0"}},
		{Line: 5, Column: "mean texture", Reason: "empty value in a column that is not nullable", Fields: []string{"16.2", "", "red", "1"}},
		{Line: 6, Column: "mean radius", Reason: "NaN value in a column that is not nullable", Fields: []string{"NaN", "17.0", "red", "1"}},
		{Line: 7, Column: "mean radius", Reason: `"1e6" is outside the allowed range [6.845, 25.145]`, Fields: []string{"1e6", "17.0", "red", "1"}},
		{Line: 8, Column: "color", Reason: `unknown category "purple"`, Fields: []string{"12.0", "17.0", "purple", "1"}},
		{Line: 9, Column: "label", Reason: `unknown class "7" (classes: 0, 1)`, Fields: []string{"12.0", "17.0", "red", "7"}},
		{Line: 10, Reason: `extraneous or missing " in quoted field at line 10, column 14`},
		{Line: 12, Column: "mean radius", Reason: `"inf" is not a finite number`, Fields: []string{"inf", "16.0", "green", "0"}},
		{Line: 13, Column: "label", Reason: "empty label", Fields: []string{"12.5", "16.0", "", ""}},
	}
	if diff := cmp.Diff(want, qs); diff != "" {
		t.Errorf("quarantine (-want +got):\n%s", diff)
	}
	wantCounts := Counts{Rows: 13, Clean: 3, Bad: 10,
		Columns: map[string]int64{"": 2, "mean radius": 4, "mean texture": 1, "color": 1, "label": 2},
		Reasons: map[string]string{"": want[0].Reason, "mean radius": want[1].Reason, "mean texture": want[2].Reason,
			"color": want[5].Reason, "label": want[6].Reason}}
	if diff := cmp.Diff(wantCounts, res.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if got, w := res.Counts.Summary(), `mean radius: 4 ("abc" is not a number), (row): 2 (3 fields, want 4), label: 2 (unknown class "7" (classes: 0, 1)), color: 1 (unknown category "purple"), mean texture: 1 (empty value in a column that is not nullable)`; got != w {
		t.Errorf("summary = %s\nwant      %s", got, w)
	}
	wantRadius := []float32{14.1, 12.5, 13.5}
	if diff := cmp.Diff(wantRadius, fr.Columns[0].Num); diff != "" {
		t.Errorf("clean mean radius (-want +got):\n%s", diff)
	}
}

func TestUnreadableFiles(t *testing.T) {
	tests := []struct {
		file string
		want error
	}{
		{"empty.csv", ErrEmpty},
		{"header_only.csv", ErrNoRows},
		{"garbage.bin", ErrEncoding},
		{"utf16.csv", ErrEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			for _, s := range []*Schema{nil, smallSchema(t)} {
				_, _, _, err := ingestFile(t, tt.file, IngestOptions{Schema: s})
				if !errors.Is(err, tt.want) || !IsInputError(err) {
					t.Errorf("schema %v: err = %v, want InputError %v", s != nil, err, tt.want)
				}
			}
		})
	}
}

func TestSchemaMismatch(t *testing.T) {
	s := smallSchema(t)
	tests := []struct {
		name, in string
		label    string
		want     error
	}{
		{"missing column", "mean radius,color,label\n1,red,0\n", "", ErrSchemaMismatch},
		{"extra column", "mean radius,mean texture,color,label,x\n1,2,red,0,1\n", "", ErrSchemaMismatch},
		{"other label", "mean radius,mean texture,color,label\n1,2,red,0\n", "color", ErrSchemaMismatch},
		{"duplicate column", "a,a,label\n1,2,0\n", "", ErrHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(tt.in)), nil }
			_, err := Ingest(open, IngestOptions{Name: "x.csv", Schema: s, Infer: InferOptions{Label: tt.label}}, io.Discard, io.Discard)
			if !errors.Is(err, tt.want) || !IsInputError(err) {
				t.Errorf("err = %v, want InputError %v", err, tt.want)
			}
		})
	}
}

func TestInference(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opt     InferOptions
		want    func(*Schema) string
		wantErr error
	}{
		{name: "no label", in: "a,b\n1,2\n", wantErr: ErrNoLabel},
		{name: "label from metadata", in: "a,b\n1,x\n2,y\n", opt: InferOptions{Label: "b"}, want: func(s *Schema) string {
			return string(s.Task) + " " + strings.Join(s.Classes(), ",")
		}},
		{name: "missing metadata label", in: "a,b\n1,2\n", opt: InferOptions{Label: "c"}, wantErr: ErrNoLabel},
		{name: "regression", in: "a,label\n1,0.5\n2,1.5\n", want: func(s *Schema) string { return string(s.Task) }},
		{name: "numeric classes by value", in: "a,label\n1,1.0\n2,1\n3,-0\n4,0\n5,10\n", want: func(s *Schema) string {
			return strings.Join(s.Classes(), ",")
		}},
		{name: "too many categories", in: "id,label\n" + rowsOf(20, func(i int) string { return "id" + strconv.Itoa(i) + ",0" }),
			opt: InferOptions{MaxCategories: 10}, wantErr: ErrInference},
		{name: "inf is a bad value, not a category", in: "a,label\n1,0\ninf,1\n-Infinity,1\n", want: typesOf},
		{name: "one text value in 20 is a bad value", in: "a,b,label\n" + rowsOf(19, func(i int) string { return strconv.Itoa(i) + ".5,x,0" }) + "abc,y,1\n",
			want: typesOf},
		{name: "two text values in 20 make a category", in: "a,label\n" + rowsOf(18, func(i int) string { return strconv.Itoa(i) + ",0" }) + "abc,1\nd,1\n",
			want: typesOf},
		{name: "NaN is missing", in: "a,label\nNaN,0\n2,1\nnan,1\n", want: typesOf},
		{name: "text-only label classes skip inf", in: "a,label\n1,x\n2,inf\n3,y\n", want: func(s *Schema) string { return strings.Join(s.Classes(), ",") }},
		{name: "numeric label with one bad value", in: "a,label\n" + rowsOf(30, func(i int) string { return strconv.Itoa(i) + "," + strconv.Itoa(i%3+1) }) + "1,abc\n",
			want: func(s *Schema) string { return string(s.Task) + " " + strings.Join(s.Classes(), ",") }},
		{name: "share 1 asks for every value", in: "a,label\n" + rowsOf(30, func(i int) string { return strconv.Itoa(i) + ",0" }) + "abc,1\n",
			opt: InferOptions{NumericShare: 1}, want: typesOf},
		{name: "open ranges", in: "a,label\n1,0\n5,1\n", opt: InferOptions{RangeMargin: -1}, want: func(s *Schema) string {
			return strconv.FormatBool(s.Features[0].Min == nil && s.Features[0].Max == nil)
		}},
		{name: "negative range", in: "a,label\n-1,0\n3,1\n", want: func(s *Schema) string {
			return strconv.FormatFloat(*s.Features[0].Min, 'g', -1, 64) + " " + strconv.FormatFloat(*s.Features[0].Max, 'g', -1, 64)
		}},
		{name: "all rows malformed", in: "a,label\n1\n2\n", wantErr: ErrNoRows},
		{name: "label only", in: "label\n1\n", wantErr: ErrInference},
	}
	wants := map[string]string{
		"label from metadata":                   "classification x,y",
		"regression":                            "regression",
		"numeric classes by value":              "0,1,10",
		"inf is a bad value, not a category":    "numeric label",
		"one text value in 20 is a bad value":   "numeric categorical label",
		"two text values in 20 make a category": "categorical label",
		"NaN is missing":                        "numeric(nullable) label",
		"text-only label classes skip inf":      "x,y",
		"numeric label with one bad value":      "classification 1,2,3",
		"share 1 asks for every value":          "categorical label",
		"open ranges":                           "true",
		"negative range":                        "-3 5",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, err := OpenCSV(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			s, err := Infer(rr, tt.opt)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !IsInputError(err) {
					t.Errorf("err %v is not an InputError", err)
				}
				return
			}
			if got := tt.want(s); got != wants[tt.name] {
				t.Errorf("got %q, want %q", got, wants[tt.name])
			}
		})
	}
}

// typesOf lists the column types, "(nullable)" marking nullable columns.
func typesOf(s *Schema) string {
	var out []string
	for _, f := range s.Features {
		t := string(f.Type)
		if f.Nullable {
			t += "(nullable)"
		}
		out = append(out, t)
	}
	return strings.Join(out, " ")
}

func rowsOf(n int, f func(int) string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(f(i) + "\n")
	}
	return b.String()
}
