package dataset

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// smallMGDS is small.csv in the compact format: the golden file.
func smallMGDS(t *testing.T) []byte {
	t.Helper()
	var clean bytes.Buffer
	if _, err := Ingest(fileSource(t, "small.csv"), IngestOptions{Name: "small.csv", Infer: InferOptions{Dataset: "small"}}, &clean, io.Discard); err != nil {
		t.Fatal(err)
	}
	return clean.Bytes()
}

func TestCompactGolden(t *testing.T) {
	b := smallMGDS(t)
	golden(t, "small.mgds", b)
	fr, err := Load(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The values of small.csv, as float32; color codes index [blue green red].
	want := []Column{
		{Name: "mean radius", Type: Numeric, Num: []float32{17.99, 20.57, 13.54, 11.42, 12.45, 13.08}},
		{Name: "mean texture", Type: Numeric, Num: []float32{10.38, 17.77, 14.36, 20.38, 15.7, 15.71}},
		{Name: "color", Type: Categorical, Code: []int32{2, 0, 2, 1, 0, -1}},
	}
	if diff := cmp.Diff(want, fr.Columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int32{0, 0, 1, 1, 1, 1}, fr.Class); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
}

func TestCompactCorrupt(t *testing.T) {
	b := smallMGDS(t)
	for n := 0; n < len(b); n++ {
		if _, err := Load(bytes.NewReader(b[:n]), nil); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: err = %v, want ErrCorrupt", n, len(b), err)
		}
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x41
		if _, err := Load(bytes.NewReader(c), nil); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: err = %v, want ErrCorrupt", i, err)
		}
	}
	if _, err := Load(bytes.NewReader(append(bytes.Clone(b), 0)), nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: err = %v, want ErrCorrupt", err)
	}
}

// TestCompactManyBlocks writes rows across several blocks with wide codes
// and a regression label, and loads them back whole and filtered.
func TestCompactManyBlocks(t *testing.T) {
	vocab := make([]string, 300) // 2-byte codes
	for i := range vocab {
		vocab[i] = "v" + string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	s := &Schema{Version: 1, Label: "y", Task: Regression, Features: []Feature{
		{Name: "x", Type: Numeric, Nullable: true},
		{Name: "c", Type: Categorical, Values: vocab, Nullable: true},
		{Name: "y", Type: Label},
	}}
	const n = 3*BlockRows + 17
	var buf bytes.Buffer
	w, err := NewWriter(&buf, s)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c := float64(i % 300)
		if i%7 == 0 {
			c = math.NaN()
		}
		if err := w.Write([]float64{float64(i) / 4, c, float64(-i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fr, err := Load(bytes.NewReader(buf.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if fr.Len != n {
		t.Fatalf("rows %d, want %d", fr.Len, n)
	}
	for i := range n {
		wantCode := int32(i % 300)
		if i%7 == 0 {
			wantCode = -1
		}
		if fr.Columns[0].Num[i] != float32(i)/4 || fr.Columns[1].Code[i] != wantCode || fr.Target[i] != float32(-i) {
			t.Fatalf("row %d = %v %v %v", i, fr.Columns[0].Num[i], fr.Columns[1].Code[i], fr.Target[i])
		}
	}
	even, err := Load(bytes.NewReader(buf.Bytes()), func(b *Frame, r int) bool { return int(b.Target[r])%2 == 0 })
	if err != nil {
		t.Fatal(err)
	}
	if even.Len != (n+1)/2 || even.Target[1] != -2 {
		t.Errorf("filtered: %d rows (want %d), second target %v", even.Len, (n+1)/2, even.Target[1])
	}
	if h1, h2 := fr.RowHash(2), even.RowHash(1); h1 != h2 {
		t.Errorf("row hash differs for the same row: %x %x", h1, h2)
	}
	if fr.RowHash(0) == fr.RowHash(1) {
		t.Errorf("rows 0 and 1 hash alike")
	}
	m := fr.Matrix()
	if len(m) != 2*n || m[2*5] != 1.25 || !math.IsNaN(float64(m[1])) || m[2*5+1] != 5 {
		t.Errorf("matrix: len %d, row 5 = %v", len(m), m[10:12])
	}
}

func FuzzDecoder(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "small.mgds")); err == nil {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("MGDS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Load(bytes.NewReader(b), nil)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		var out bytes.Buffer
		w, err := NewWriter(&out, fr.Schema)
		if err != nil {
			t.Fatalf("decoded schema rejected by writer: %v", err)
		}
		if err := w.WriteFrame(fr); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		fr2, err := Load(bytes.NewReader(out.Bytes()), nil)
		if err != nil {
			t.Fatalf("re-encoded file rejected: %v", err)
		}
		if diff := cmp.Diff(fr, fr2, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func FuzzParseSchema(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "breast_cancer.schema.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"version":1,"label":"y","task":"regression","features":[{"name":"y","type":"label"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSchema(b)
		if err != nil {
			if !errors.Is(err, ErrSchema) {
				t.Fatalf("error %v is not ErrSchema", err)
			}
			return
		}
		js, err := s.MarshalIndent()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ParseSchema(js)
		if err != nil {
			t.Fatalf("re-encoded schema rejected: %v\n%s", err, js)
		}
		if diff := cmp.Diff(s, s2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
