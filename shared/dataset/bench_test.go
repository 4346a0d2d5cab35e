package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
)

// benchFile writes (once) a CSV of rows x cols numeric features plus a 0/1
// label to the temp directory, streaming, and returns its path.
func benchFile(b *testing.B, rows, cols int) string {
	b.Helper()
	p := filepath.Join(os.TempDir(), fmt.Sprintf("mega-dataset-bench-%dx%d.csv", rows, cols))
	if _, err := os.Stat(p); err == nil {
		return p
	}
	f, err := os.Create(p + ".tmp")
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for j := range cols {
		fmt.Fprintf(w, "f%d,", j)
	}
	w.WriteString("label\n")
	rng := rand.New(rand.NewPCG(1, 2))
	var buf []byte
	for range rows {
		buf = buf[:0]
		for range cols {
			// Values like the breast cancer data: 4-6 significant digits.
			buf = strconv.AppendFloat(buf, rng.NormFloat64()*50+100, 'f', 4, 64)
			buf = append(buf, ',')
		}
		buf = append(buf, byte('0'+rng.IntN(2)), '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		b.Fatal(err)
	}
	return p
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkIngest1M ingests 1,000,000 rows x 30 numeric columns from a file:
// "stored-schema" is a later drop (one streaming pass), "first-drop" infers
// the schema in an extra pass first. MB/s counts input bytes per pass set;
// maxrss-MB is the process's peak resident set (getrusage), heap-MB the Go
// heap in use after the run. Run with GOMAXPROCS=1 for the one-core figure:
//
//	GOMAXPROCS=1 go test -run '^$' -bench Ingest1M -benchtime 3x ./shared/dataset/
func BenchmarkIngest1M(b *testing.B) {
	const rows, cols = 1_000_000, 30
	p := benchFile(b, rows, cols)
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	open := func() (io.ReadCloser, error) { return os.Open(p) }
	var schema *Schema
	for _, mode := range []string{"first-drop", "stored-schema"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(st.Size())
			var res Result
			cpu0 := cpuSeconds()
			for b.Loop() {
				opt := IngestOptions{Name: "bench.csv"}
				if mode == "stored-schema" {
					opt.Schema = schema
				}
				var clean countWriter
				res, err = Ingest(open, opt, &clean, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				if res.Clean != rows {
					b.Fatalf("clean %d rows, want %d", res.Clean, rows)
				}
				b.ReportMetric(float64(clean.n)/float64(st.Size()), "out/in")
			}
			schema = res.Schema
			// On a shared machine wall time includes waiting for a core; CPU
			// time is what one core spends.
			b.ReportMetric(float64(st.Size())*float64(b.N)/(cpuSeconds()-cpu0)/1e6, "cpu-MB/s")
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MB")
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		})
	}
}

// BenchmarkCSVScan is the CSV reader alone against encoding/csv on the same
// file (100,000 rows).
func BenchmarkCSVScan(b *testing.B) {
	p := benchFile(b, 100_000, 30)
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		cpu0 := cpuSeconds()
		defer func() { b.ReportMetric(float64(len(data))*float64(b.N)/(cpuSeconds()-cpu0)/1e6, "cpu-MB/s") }()
		for b.Loop() {
			r := NewCSVReader(bytesReader(data))
			for {
				if _, _, err := r.Next(); err == io.EOF {
					break
				}
			}
		}
	})
	b.Run("encoding-csv", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		cpu0 := cpuSeconds()
		defer func() { b.ReportMetric(float64(len(data))*float64(b.N)/(cpuSeconds()-cpu0)/1e6, "cpu-MB/s") }()
		for b.Loop() {
			r := newStdCSV(bytesReader(data))
			for {
				if _, err := r.Read(); err == io.EOF {
					break
				}
			}
		}
	})
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func newStdCSV(r io.Reader) *csv.Reader {
	c := csv.NewReader(r)
	c.ReuseRecord = true
	return c
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
