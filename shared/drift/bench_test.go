package drift

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user+system) of the process so far. The machine
// is shared, so benchmarks report CPU seconds beside wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) float64 {
	b.Helper()
	s := (cpuTime() - start).Seconds() / float64(b.N)
	b.ReportMetric(s, "cpu-s/op")
	return s
}

// Benchmarks over 1,000,000 rows x 30 features (25 numeric, 5 categorical),
// the scale of issue 6. Run them with GOMAXPROCS=1:
//
//	GOMAXPROCS=1 go test -run '^$' -bench . -benchtime 1x ./shared/drift
//
// With MEGA_DRIFT_BENCH_DIR set, the data is read from ref.bin and cur.bin in
// that folder (written by testdata/evidently_bench.py, so that Evidently sees
// the same data): per file, uint64 rows, then 30 columns of rows float64 each,
// little-endian; categorical columns hold small integer codes.
const (
	benchRows    = 1_000_000
	benchNumeric = 25
	benchCat     = 5
)

func benchSchema() []Feature {
	var s []Feature
	for i := range benchNumeric {
		s = append(s, Feature{Name: fmt.Sprintf("n%02d", i), Kind: Numeric})
	}
	for i := range benchCat {
		s = append(s, Feature{Name: fmt.Sprintf("c%d", i), Kind: Categorical})
	}
	return s
}

var benchOnce struct {
	sync.Once
	ref, cur Sample
	err      error
}

var catNames = func() []string {
	out := make([]string, 64)
	for i := range out {
		out[i] = fmt.Sprintf("v%d", i)
	}
	return out
}()

func benchSamples(b *testing.B) (Sample, Sample) {
	b.Helper()
	benchOnce.Do(func() {
		if dir := os.Getenv("MEGA_DRIFT_BENCH_DIR"); dir != "" {
			benchOnce.ref, benchOnce.err = readBenchFile(filepath.Join(dir, "ref.bin"))
			if benchOnce.err == nil {
				benchOnce.cur, benchOnce.err = readBenchFile(filepath.Join(dir, "cur.bin"))
			}
			return
		}
		benchOnce.ref = genBench(1, benchRows, 0)
		benchOnce.cur = genBench(2, benchRows, 0.3)
	})
	if benchOnce.err != nil {
		b.Fatal(benchOnce.err)
	}
	return benchOnce.ref, benchOnce.cur
}

// genBench draws the same families as evidently_bench.py: normal, lognormal
// and Poisson-like counts; the first third of the features of cur shift.
func genBench(seed uint64, n int, shift float64) Sample {
	r := rand.New(rand.NewPCG(seed, 99))
	cols := make([][]float64, benchNumeric+benchCat)
	for j := range cols {
		s := 0.0
		if j%3 == 0 {
			s = shift
		}
		col := make([]float64, n)
		for i := range col {
			switch {
			case j >= benchNumeric:
				col[i] = float64(min(int(r.ExpFloat64()*(4+10*s)), 63))
			case j%3 == 0:
				col[i] = r.NormFloat64() + s
			case j%3 == 1:
				col[i] = math.Exp(r.NormFloat64())
			default:
				col[i] = math.Floor(r.ExpFloat64() * 3)
			}
		}
		cols[j] = col
	}
	return sampleOfColumns(cols)
}

func sampleOfColumns(cols [][]float64) Sample {
	n := len(cols[0])
	s := Sample{Rows: int64(n), Num: make([][]float64, len(cols)), Str: make([][]string, len(cols))}
	for j, col := range cols {
		if j < benchNumeric {
			s.Num[j] = col
			continue
		}
		str := make([]string, n)
		for i, x := range col {
			str[i] = catNames[int(x)%len(catNames)]
		}
		s.Str[j] = str
	}
	return s
}

func readBenchFile(path string) (Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return Sample{}, err
	}
	defer f.Close()
	var n uint64
	if err := binary.Read(f, binary.LittleEndian, &n); err != nil || n == 0 || n > 1<<28 {
		return Sample{}, fmt.Errorf("read %s: bad header (%v)", path, err)
	}
	cols := make([][]float64, benchNumeric+benchCat)
	for j := range cols {
		cols[j] = make([]float64, n)
		if err := binary.Read(f, binary.LittleEndian, cols[j]); err != nil {
			return Sample{}, fmt.Errorf("read %s: column %d: %w", path, j, err)
		}
	}
	return sampleOfColumns(cols), nil
}

func benchReference(b *testing.B, ref Sample) *Reference {
	b.Helper()
	schema := benchSchema()
	rb, err := NewReferenceBuilder(schema)
	if err != nil {
		b.Fatal(err)
	}
	for i, f := range schema {
		if f.Kind == Numeric {
			rb.cols[i] = colBuilder{count: ref.Rows, values: slices.Clone(ref.Num[i])}
		} else {
			for _, v := range ref.Str[i] {
				rb.cols[i].cats[v]++
			}
			rb.cols[i].count = ref.Rows
		}
	}
	r, err := rb.Build()
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func foldSample(b *testing.B, ref *Reference, s Sample) *Window {
	b.Helper()
	w, err := NewWindow(ref)
	if err != nil {
		b.Fatal(err)
	}
	row := make(Row, len(s.Num))
	for i := range int(s.Rows) {
		for j := range row {
			if s.Num[j] != nil {
				row[j] = Num(s.Num[j][i])
			} else {
				row[j] = Cat(s.Str[j][i])
			}
		}
		if err := w.Add(row); err != nil {
			b.Fatal(err)
		}
	}
	return w
}

// BenchmarkCheckRaw: the exact path, both 1M-row samples in memory.
func BenchmarkCheckRaw(b *testing.B) {
	ref, cur := benchSamples(b)
	var r *Report
	start := cpuTime()
	for b.Loop() {
		var err error
		if r, err = CheckSample(benchSchema(), ref, cur, DefaultPolicy()); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
	b.ReportMetric(float64(r.Drifted), "drifted")
}

// BenchmarkFold: folding 1M rows into a window profile (collect's work).
func BenchmarkFold(b *testing.B) {
	ref, cur := benchSamples(b)
	rp := benchReference(b, ref)
	var w *Window
	start := cpuTime()
	for b.Loop() {
		w = foldSample(b, rp, cur)
	}
	cpu := reportCPU(b, start)
	js, err := json.Marshal(w)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cur.Rows)/cpu, "rows/cpu-s")
	b.ReportMetric(float64(len(js)), "window-bytes")
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(js); err != nil || zw.Close() != nil {
		b.Fatal("gzip window")
	}
	b.ReportMetric(float64(z.Len()), "window-gzip-bytes")
}

// BenchmarkCheckProfiles: the drift check from a reference and a window
// profile of 1M rows (driftcheck's work once collect has folded the rows).
func BenchmarkCheckProfiles(b *testing.B) {
	ref, cur := benchSamples(b)
	rp := benchReference(b, ref)
	w := foldSample(b, rp, cur)
	var r *Report
	start := cpuTime()
	for b.Loop() {
		var err error
		if r, err = Check(rp, w, DefaultPolicy()); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
	b.ReportMetric(float64(r.Drifted), "drifted")
}

// BenchmarkMerge: merging two window profiles.
func BenchmarkMerge(b *testing.B) {
	ref, cur := benchSamples(b)
	rp := benchReference(b, ref)
	w := foldSample(b, rp, Sample{Rows: 10000, Num: head(cur.Num, 10000), Str: headS(cur.Str, 10000)})
	acc := w.Clone()
	for b.Loop() {
		if err := acc.Merge(w); err != nil {
			b.Fatal(err)
		}
	}
}

func head(cols [][]float64, n int) [][]float64 {
	out := make([][]float64, len(cols))
	for i, c := range cols {
		if c != nil {
			out[i] = c[:n]
		}
	}
	return out
}

func headS(cols [][]string, n int) [][]string {
	out := make([][]string, len(cols))
	for i, c := range cols {
		if c != nil {
			out[i] = c[:n]
		}
	}
	return out
}
