package drift

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var testSchema = []Feature{
	{Name: "normal", Kind: Numeric},
	{Name: "lognormal", Kind: Numeric},
	{Name: "count", Kind: Numeric}, // discrete, few distinct values
	{Name: "color", Kind: Categorical},
}

var colors = []string{"red", "green", "blue", "black"}

// rows draws n rows; shift moves every distribution away from shift == 0.
func rows(seed uint64, n int, shift float64) []Row {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]Row, n)
	for i := range out {
		c := colors[r.IntN(3)]
		if r.Float64() < shift/4 {
			c = colors[3]
		}
		row := Row{
			Num(r.NormFloat64() + shift),
			Num(math.Exp(r.NormFloat64()*(1+shift/2)) + shift),
			Num(math.Floor(r.ExpFloat64()*3*(1+shift)) + 0),
			Cat(c),
		}
		if r.IntN(50) == 0 {
			row[i%3] = Null()
		}
		out[i] = row
	}
	return out
}

func buildRef(t testing.TB, rs []Row) *Reference {
	t.Helper()
	b, err := NewReferenceBuilder(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rs {
		if err := b.Add(row); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func fold(t testing.TB, ref *Reference, rs []Row) *Window {
	t.Helper()
	w, err := NewWindow(ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rs {
		if err := w.Add(row); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func merged(t *testing.T, ws ...*Window) *Window {
	t.Helper()
	out := ws[0].Clone()
	for _, w := range ws[1:] {
		if err := out.Merge(w); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

var windowOpts = cmp.Options{cmpopts.IgnoreUnexported(Window{})}

func TestWindowMergeLaws(t *testing.T) {
	ref := buildRef(t, rows(1, 5000, 0))
	a := fold(t, ref, rows(2, 700, 0))
	b := fold(t, ref, rows(3, 1300, 0.4))
	c := fold(t, ref, rows(4, 90, 1.5))
	empty := fold(t, ref, nil)
	t0 := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	a.Start, a.End = t0, t0.Add(time.Minute)
	b.Start, b.End = t0.Add(time.Minute), t0.Add(2*time.Minute)
	c.Start, c.End = t0.Add(-time.Minute), t0

	// Commutative, bit for bit.
	if diff := cmp.Diff(merged(t, a, b), merged(t, b, a), windowOpts); diff != "" {
		t.Errorf("a+b != b+a (-a+b +b+a):\n%s", diff)
	}
	// Identity.
	if diff := cmp.Diff(a, merged(t, a, empty), windowOpts); diff != "" {
		t.Errorf("a+0 != a:\n%s", diff)
	}
	if diff := cmp.Diff(a, merged(t, empty, a), windowOpts); diff != "" {
		t.Errorf("0+a != a:\n%s", diff)
	}
	// Associative: counts, min, max exactly; moments and sums to rounding.
	approx := cmp.Options{windowOpts, cmpopts.EquateApprox(1e-12, 1e-9)}
	left := merged(t, merged(t, a, b), c)
	right := merged(t, a, merged(t, b, c))
	if diff := cmp.Diff(left, right, approx); diff != "" {
		t.Errorf("(a+b)+c != a+(b+c):\n%s", diff)
	}
	// Merging equals folding all rows into one window.
	var all []Row
	all = append(all, rows(2, 700, 0)...)
	all = append(all, rows(3, 1300, 0.4)...)
	all = append(all, rows(4, 90, 1.5)...)
	if !left.Start.Equal(c.Start) || !left.End.Equal(b.End) {
		t.Errorf("merged window spans %v..%v, want %v..%v", left.Start, left.End, c.Start, b.End)
	}
	one := fold(t, ref, all)
	one.Start, one.End = left.Start, left.End
	if diff := cmp.Diff(one, left, approx); diff != "" {
		t.Errorf("merged windows != one window over all rows:\n%s", diff)
	}
	// Moments against a direct two-pass computation.
	var xs []float64
	for _, row := range all {
		if !row[0].Null {
			xs = append(xs, row[0].Num)
		}
	}
	mean, std := meanStd(xs)
	col := left.Features[0]
	if math.Abs(col.Mean-mean) > 1e-12 || math.Abs(col.Std()-std) > 1e-12 {
		t.Errorf("merged mean/std = %v/%v, two-pass %v/%v", col.Mean, col.Std(), mean, std)
	}
}

func TestWindowMergeMismatch(t *testing.T) {
	r1 := buildRef(t, rows(1, 500, 0))
	r2 := buildRef(t, rows(9, 500, 0))
	w1, w2 := fold(t, r1, rows(2, 10, 0)), fold(t, r2, rows(2, 10, 0))
	if err := w1.Merge(w2); !errors.Is(err, ErrMismatch) {
		t.Errorf("merging windows of different references: err = %v, want ErrMismatch", err)
	}
}

func TestWindowSizeDoesNotGrow(t *testing.T) {
	ref := buildRef(t, rows(1, 20000, 0))
	size := func(n int) int {
		b, err := json.Marshal(fold(t, ref, rows(5, n, 0)))
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	small, large := size(2000), size(200000)
	// 100 times the rows; only the digits of the counts may grow.
	if float64(large) > 1.25*float64(small) {
		t.Errorf("window JSON grew from %d to %d bytes with 100x the rows", small, large)
	}
	t.Logf("window JSON: %d bytes after 2000 rows, %d after 200000", small, large)
}

func TestWindowRoundTrip(t *testing.T) {
	ref := buildRef(t, rows(1, 3000, 0))
	pred, err := BuildProfile(Feature{Name: PredictionName, Kind: Categorical}, []Value{Cat("yes"), Cat("no"), Cat("no")})
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.SetPrediction(pred); err != nil {
		t.Fatal(err)
	}
	rb, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	ref2, err := ParseReference(rb)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ref, ref2, cmpopts.IgnoreUnexported(NumericProfile{}, CategoricalProfile{})); diff != "" {
		t.Errorf("reference round trip:\n%s", diff)
	}
	w := fold(t, ref, rows(2, 400, 0.2))
	for _, p := range []string{"yes", "no", "maybe"} {
		if err := w.AddPrediction(Cat(p)); err != nil {
			t.Fatal(err)
		}
	}
	wb, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := ParseWindow(wb, ref2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, w2, windowOpts); diff != "" {
		t.Errorf("window round trip:\n%s", diff)
	}
	if got := w2.Prediction.Bins; got[len(got)-1] != 1 {
		t.Errorf("unseen prediction class: other bucket = %d, want 1", got[len(got)-1])
	}
}

func TestParseErrors(t *testing.T) {
	ref := buildRef(t, rows(1, 300, 0))
	good, _ := json.Marshal(ref)
	win, _ := json.Marshal(fold(t, ref, rows(2, 50, 0)))
	mutate := func(b []byte, f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, _ := json.Marshal(m)
		return out
	}
	feature := func(m map[string]any, i int) map[string]any {
		return m["features"].([]any)[i].(map[string]any)
	}
	refCases := []struct {
		name string
		data []byte
	}{
		{"not json", []byte("{")},
		{"empty", []byte("{}")},
		{"version", mutate(good, func(m map[string]any) { m["version"] = 2 })},
		{"kind", mutate(good, func(m map[string]any) { feature(m, 0)["kind"] = "text" })},
		{"count", mutate(good, func(m map[string]any) { feature(m, 0)["count"] = 1 })},
		{"edges", mutate(good, func(m map[string]any) {
			n := feature(m, 0)["numeric"].(map[string]any)
			e := n["edges"].([]any)
			e[0], e[1] = e[1], e[0]
		})},
		{"hist size", mutate(good, func(m map[string]any) {
			n := feature(m, 1)["numeric"].(map[string]any)
			n["fine_hist"] = []any{1}
		})},
		{"vocabulary", mutate(good, func(m map[string]any) {
			c := feature(m, 3)["categorical"].(map[string]any)
			c["counts"] = []any{1}
		})},
	}
	for _, c := range refCases {
		t.Run("reference/"+c.name, func(t *testing.T) {
			if _, err := ParseReference(c.data); !errors.Is(err, ErrFormat) {
				t.Errorf("err = %v, want ErrFormat", err)
			}
		})
	}
	winCases := []struct {
		name string
		data []byte
		want error
	}{
		{"not json", []byte("[1]"), ErrFormat},
		{"other reference", mutate(win, func(m map[string]any) { m["reference"] = "x" }), ErrMismatch},
		{"bins", mutate(win, func(m map[string]any) { feature(m, 0)["bins"] = []any{1, 2} }), ErrMismatch},
		{"count", mutate(win, func(m map[string]any) { feature(m, 2)["count"] = 7 }), ErrFormat},
		{"negative", mutate(win, func(m map[string]any) {
			b := feature(m, 3)["bins"].([]any)
			b[0] = -1
		}), ErrFormat},
	}
	for _, c := range winCases {
		t.Run("window/"+c.name, func(t *testing.T) {
			if _, err := ParseWindow(c.data, ref); !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestRowErrors(t *testing.T) {
	if _, err := NewReferenceBuilder([]Feature{{Name: "a", Kind: "text"}}); !errors.Is(err, ErrSchema) {
		t.Errorf("unknown kind: err = %v", err)
	}
	if _, err := NewReferenceBuilder([]Feature{{Name: "a", Kind: Numeric}, {Name: "a", Kind: Numeric}}); !errors.Is(err, ErrSchema) {
		t.Errorf("duplicate name: err = %v", err)
	}
	ref := buildRef(t, rows(1, 200, 0))
	w, _ := NewWindow(ref)
	if err := w.Add(Row{Num(1)}); !errors.Is(err, ErrSchema) {
		t.Errorf("short row: err = %v", err)
	}
	if err := w.AddPrediction(Num(1)); !errors.Is(err, ErrSchema) {
		t.Errorf("prediction without a prediction profile: err = %v", err)
	}
	var unbound Window
	if err := unbound.Add(Row{}); !errors.Is(err, ErrSchema) {
		t.Errorf("unbound window: err = %v", err)
	}
}

func TestFineBinMatchesSearch(t *testing.T) {
	ref := buildRef(t, rows(51, 30000, 0))
	r := rand.New(rand.NewPCG(5, 5))
	for _, f := range ref.Features[:3] {
		n := f.Numeric
		probe := append([]float64{}, n.FineEdges...)
		for _, e := range n.FineEdges {
			probe = append(probe, math.Nextafter(e, math.Inf(1)), math.Nextafter(e, math.Inf(-1)))
		}
		for range 100000 {
			probe = append(probe, n.Min+(n.Max-n.Min)*(1.2*r.Float64()-0.1))
		}
		for _, x := range probe {
			if got, want := n.fineBin(x), binIndex(n.FineEdges, x); got != want {
				t.Fatalf("%s: fineBin(%v) = %d, binary search %d", f.Name, x, got, want)
			}
		}
	}
}

// Windows folding in parallel share one reference (run with -race).
func TestConcurrentWindows(t *testing.T) {
	ref := buildRef(t, rows(61, 2000, 0))
	parts := make([]*Window, 4)
	done := make(chan int)
	for i := range parts {
		go func() {
			w, err := NewWindow(ref)
			if err == nil {
				for _, row := range rows(uint64(70+i), 500, 0) {
					_ = w.Add(row)
				}
			}
			parts[i] = w
			done <- i
		}()
	}
	for range parts {
		<-done
	}
	var all []Row
	for i := range parts {
		all = append(all, rows(uint64(70+i), 500, 0)...)
	}
	if diff := cmp.Diff(fold(t, ref, all), merged(t, parts...), windowOpts, cmpopts.EquateApprox(1e-12, 1e-9)); diff != "" {
		t.Errorf("parallel windows merged != one window:\n%s", diff)
	}
}

func TestSortFloats(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 1, 100, 5000, 70000} {
		xs := make([]float64, n)
		for i := range xs {
			switch i % 4 {
			case 0:
				xs[i] = r.NormFloat64() * 1e6
			case 1:
				xs[i] = float64(r.IntN(5)) - 2 // ties, zeros
			case 2:
				xs[i] = -r.ExpFloat64() * 1e-300
			default:
				xs[i] = math.Ldexp(r.Float64(), r.IntN(2000)-1000)
			}
		}
		want := slices.Clone(xs)
		slices.Sort(want)
		sortFloats(xs)
		if diff := cmp.Diff(want, xs); diff != "" {
			t.Fatalf("n=%d: radix sort differs from slices.Sort:\n%s", n, diff)
		}
	}
}
