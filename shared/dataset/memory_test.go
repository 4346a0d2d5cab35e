package dataset

import (
	"io"
	"runtime"
	"strconv"
	"testing"
)

// rowSource generates a CSV of n rows x cols numbers on the fly, so a test
// can ingest a large file without holding it.
type rowSource struct {
	n, cols, row int
	buf          []byte
	off          int
}

func (g *rowSource) Read(p []byte) (int, error) {
	if g.off == len(g.buf) {
		g.buf, g.off = g.buf[:0], 0
		switch {
		case g.row == 0:
			for j := range g.cols {
				g.buf = append(g.buf, 'f')
				g.buf = strconv.AppendInt(g.buf, int64(j), 10)
				g.buf = append(g.buf, ',')
			}
			g.buf = append(g.buf, "label\n"...)
		case g.row > g.n:
			return 0, io.EOF
		default:
			for j := range g.cols {
				g.buf = strconv.AppendFloat(g.buf, float64((g.row*31+j*7)%1000)/8, 'f', -1, 64)
				g.buf = append(g.buf, ',')
			}
			g.buf = append(g.buf, byte('0'+g.row%2), '\n')
		}
		g.row++
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}

// TestIngestMemoryDoesNotGrow ingests 10,000 and 100,000 generated rows and
// checks that the bytes allocated do not grow with the rows: every
// allocation is per file (buffers, one block, the schema), none per row.
func TestIngestMemoryDoesNotGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests 100,000 rows")
	}
	allocated := func(rows int) uint64 {
		open := func() (io.ReadCloser, error) { return io.NopCloser(&rowSource{n: rows, cols: 30}), nil }
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, err := Ingest(open, IngestOptions{Name: "gen.csv"}, io.Discard, io.Discard)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if res.Clean != int64(rows) {
			t.Fatalf("clean %d, want %d", res.Clean, rows)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := allocated(10_000), allocated(100_000)
	t.Logf("allocated %d bytes for 10,000 rows, %d for 100,000", small, large)
	if large > small+(1<<20) {
		t.Errorf("allocation grows with the file: %d bytes for 10,000 rows, %d for 100,000", small, large)
	}
}
