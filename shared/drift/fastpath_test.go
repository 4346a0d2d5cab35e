package drift

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The separate KS and Wasserstein walks that mergeSorted replaced (their
// results matched scipy's golden values in stats_test.go). The fused walk
// must give the very same float64 bits, so the reports do not change.
func separateKS(a, b []float64) (maxS, minD float64) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var v float64
		switch {
		case i == len(a):
			v = b[j]
		case j == len(b):
			v = a[i]
		default:
			v = math.Min(a[i], b[j])
		}
		for i < len(a) && a[i] <= v {
			i++
		}
		for j < len(b) && b[j] <= v {
			j++
		}
		d := float64(i)/float64(len(a)) - float64(j)/float64(len(b))
		maxS, minD = math.Max(maxS, d), math.Min(minD, d)
	}
	return maxS, minD
}

func separateWasserstein(a, b []float64) float64 {
	na, nb := float64(len(a)), float64(len(b))
	i, j := 0, 0
	var sum float64
	next := func() float64 {
		switch {
		case i == len(a):
			return b[j]
		case j == len(b):
			return a[i]
		}
		return math.Min(a[i], b[j])
	}
	v := next()
	for {
		for i < len(a) && a[i] <= v {
			i++
		}
		for j < len(b) && b[j] <= v {
			j++
		}
		if i == len(a) && j == len(b) {
			return sum
		}
		w := next()
		sum += math.Abs(float64(i)/na-float64(j)/nb) * (w - v)
		v = w
	}
}

// randomSorted draws n sorted values: continuous, with heavy ties and
// signed zeros, or heavy-tailed, by kind.
func randomSorted(r *rand.Rand, n, kind int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		switch kind % 3 {
		case 0:
			xs[i] = r.NormFloat64()
		case 1:
			xs[i] = float64(r.IntN(5)) - 2
			if r.IntN(4) == 0 {
				xs[i] = math.Copysign(0, -1)
			}
		default:
			xs[i] = math.Exp(r.NormFloat64() * 3)
		}
	}
	slices.Sort(xs)
	return xs
}

func TestMergeSortedMatchesSeparateWalks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for it := range 3000 {
		a, b := randomSorted(r, 1+r.IntN(300), it), randomSorted(r, 1+r.IntN(300), it)
		maxS, minD, w := mergeSorted(a, b)
		wantS, wantD := separateKS(a, b)
		got := []uint64{math.Float64bits(maxS), math.Float64bits(minD), math.Float64bits(w)}
		want := []uint64{math.Float64bits(wantS), math.Float64bits(wantD), math.Float64bits(separateWasserstein(a, b))}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("case %d (%d and %d values): float64 bits of maxS, minD, w differ (-separate +fused):\n%s", it, len(a), len(b), diff)
		}
	}
}

// countsSorted (binary search) must count exactly as histogramSorted's
// linear pass, values on an edge included in the bin to its left.
func TestCountsSortedMatchesHistogram(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for it := range 2000 {
		xs := make([]float64, r.IntN(400))
		for i := range xs {
			xs[i] = float64(r.IntN(7)) - 3 + float64(it%2)*r.NormFloat64()
		}
		slices.Sort(xs)
		var edges []float64
		for range r.IntN(6) {
			edges = append(edges, float64(r.IntN(9))-4+float64(it%2)*r.NormFloat64())
		}
		slices.Sort(edges)
		edges = slices.Compact(edges)
		want, _ := histogramSorted(xs, edges)
		if diff := cmp.Diff(want, countsSorted(xs, edges)); diff != "" {
			t.Fatalf("values %v, edges %v (-linear +binary search):\n%s", xs, edges, diff)
		}
	}
}

// CheckSamples sorts the samples it builds in place; CheckSample copies the
// caller's columns. Both must give the same report, and CheckSample must
// leave its inputs as they were (NaN and infinities included), also when the
// features run on several goroutines.
func TestCheckSampleKeepsInputsAndMatchesRows(t *testing.T) {
	refRows, curRows := rows(31, 6000, 0), rows(32, 5000, 0.3)
	refRows[5][0], curRows[7][1] = Num(math.Inf(1)), Num(math.Inf(-1))
	fromRows, err := CheckSamples(testSchema, refRows, curRows, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := SampleOf(testSchema, refRows)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := SampleOf(testSchema, curRows)
	if err != nil {
		t.Fatal(err)
	}
	clone := func(s Sample) Sample {
		c := Sample{Rows: s.Rows}
		for _, col := range s.Num {
			c.Num = append(c.Num, slices.Clone(col))
		}
		for _, col := range s.Str {
			c.Str = append(c.Str, slices.Clone(col))
		}
		return c
	}
	rs0, cs0 := clone(rs), clone(cs)
	fromCols, err := CheckSample(testSchema, rs, cs, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromRows, fromCols); diff != "" {
		t.Errorf("CheckSamples and CheckSample differ (-rows +columns):\n%s", diff)
	}
	bits := cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) })
	if diff := cmp.Diff(rs0, rs, bits); diff != "" {
		t.Errorf("CheckSample changed the reference sample:\n%s", diff)
	}
	if diff := cmp.Diff(cs0, cs, bits); diff != "" {
		t.Errorf("CheckSample changed the current sample:\n%s", diff)
	}
}

// sortFinite must drop NaN and infinities and sort the rest, in place or
// into a buffer, small and large alike. The radix path (4,096 finite values
// and more) puts -0 before +0; slices.Sort, below that, treats them as equal.
// Sorted input is kept as it is.
func TestSortFinite(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	totalOrder := func(a, b float64) int {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		case math.Signbit(a) && !math.Signbit(b):
			return -1
		case !math.Signbit(a) && math.Signbit(b):
			return 1
		}
		return 0
	}
	for it, n := range []int{0, 10, 4095, 4100, 5000, 20000, 70000} {
		xs := make([]float64, n)
		for i := range xs {
			switch r.IntN(10) {
			case 0:
				xs[i] = math.NaN()
			case 1:
				xs[i] = math.Inf(1 - 2*r.IntN(2))
			case 2:
				xs[i] = math.Copysign(0, float64(1-2*r.IntN(2)))
			case 3:
				xs[i] = float64(r.IntN(3))
			default:
				xs[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10))
			}
		}
		var want []float64
		for _, x := range xs {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				want = append(want, x)
			}
		}
		slices.SortFunc(want, totalOrder)
		signed := len(want) >= 1<<12
		var sc radixScratch
		if got := sortFinite(nil, xs, &sc); !sameFloats(want, got, signed) {
			t.Errorf("case %d (%d values), into a buffer: got %d values, not the sorted finite ones", it, n, len(got))
		}
		if got := sortFinite(xs[:0], xs, nil); !sameFloats(want, got, signed) {
			t.Errorf("case %d (%d values), in place: got %d values, not the sorted finite ones", it, n, len(got))
		}
		// Already sorted, with +0 before -0: kept as it is.
		sorted := append(slices.Clone(want), 1e300)
		if k := slices.Index(sorted, 0); k >= 0 {
			sorted = slices.Insert(sorted, k, 0, math.Copysign(0, -1))
		}
		if got := sortFinite(nil, sorted, &sc); !sameFloats(sorted, got, true) {
			t.Errorf("case %d: sorted input was reordered", it)
		}
	}
}

// sameFloats compares a and b value by value; signed also tells -0 from +0.
func sameFloats(a, b []float64, signed bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] || (signed && math.Signbit(a[i]) != math.Signbit(b[i])) {
			return false
		}
	}
	return true
}
