package dataset

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func openAt(t testing.TB, data []byte) func() (io.ReaderAt, int64, error) {
	return func() (io.ReaderAt, int64, error) { return bytes.NewReader(data), int64(len(data)), nil }
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ingestBytes(t *testing.T, name string, data []byte, opt IngestOptions) (Result, *Frame, error) {
	t.Helper()
	opt.Name = name
	var clean bytes.Buffer
	res, err := Ingest(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, opt, &clean, io.Discard)
	if err != nil {
		return res, nil, err
	}
	fr, err := Load(&clean, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res, fr, nil
}

// TestParquetMatchesCSV: files written by pyarrow (make_parquet.py) give the
// same schema and rows as the CSV they were made from.
func TestParquetMatchesCSV(t *testing.T) {
	for _, tt := range []struct{ csv, parquet string }{
		{"breast_cancer.csv", "breast_cancer.parquet"},
		{"small.csv", "small.parquet"},
	} {
		t.Run(tt.parquet, func(t *testing.T) {
			wantRes, want, err := ingestBytes(t, tt.csv, readFixture(t, tt.csv), IngestOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pq := readFixture(t, tt.parquet)
			res, got, err := ingestBytes(t, tt.parquet, pq, IngestOptions{OpenAt: openAt(t, pq)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != Parquet || res.Bad != 0 || res.Clean != wantRes.Clean {
				t.Errorf("result %+v, want %d clean parquet rows", res.Counts, wantRes.Clean)
			}
			if diff := cmp.Diff(wantRes.Schema, res.Schema); diff != "" {
				t.Errorf("schema (-csv +parquet):\n%s", diff)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows (-csv +parquet):\n%s", diff)
			}
		})
	}
}

func TestParquetWithoutRandomAccess(t *testing.T) {
	pq := readFixture(t, "small.parquet")
	_, _, err := ingestBytes(t, "x/small.parquet", pq, IngestOptions{})
	if !errors.Is(err, ErrFormat) || !IsInputError(err) {
		t.Fatalf("err = %v, want an InputError ErrFormat", err)
	}
}

func TestParquetCorrupt(t *testing.T) {
	pq := readFixture(t, "small.parquet")
	check := func(what string, data []byte) {
		_, _, err := ingestBytes(t, "c.parquet", data, IngestOptions{OpenAt: openAt(t, data)})
		if err != nil && !IsInputError(err) {
			t.Fatalf("%s: err %v is not an InputError", what, err)
		}
	}
	for n := 0; n < len(pq); n += 7 {
		check("truncated", pq[:n])
	}
	for i := 0; i < len(pq); i += 3 {
		c := bytes.Clone(pq)
		c[i] ^= 0x5A
		check("flipped", c)
	}
}

func TestParquetReadError(t *testing.T) {
	pq := readFixture(t, "small.parquet")
	boom := errors.New("network down")
	_, err := OpenParquet(failingReaderAt{boom}, int64(len(pq)))
	if !errors.Is(err, boom) || IsInputError(err) {
		t.Fatalf("err = %v, want the read error, not an InputError", err)
	}
}

type failingReaderAt struct{ err error }

func (f failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, f.err }

func FuzzParquet(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join(fixtures, "small.parquet")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := OpenParquet(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("error %v is not an InputError", err)
			}
			return
		}
		defer p.Close()
		for range 10000 {
			_, _, err := p.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if _, ok := err.(*RowError); ok {
					continue
				}
				if !IsInputError(err) {
					t.Fatalf("error %v is neither a RowError nor an InputError", err)
				}
				return
			}
		}
	})
}
