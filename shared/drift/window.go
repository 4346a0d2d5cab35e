package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
)

// Window is the profile of a window of live traffic, folded one row at a
// time against a Reference. Its size depends on the reference (bins and
// vocabularies), never on the number of rows: per numeric feature the counts
// on the reference's fine bin edges (from which the coarse bins follow, as
// the fine edges contain the coarse ones), the moments (Welford, merged with
// Chan's formula), min and max; per categorical feature the counts on the
// reference vocabulary plus one bucket for other values.
//
// A Reference may be shared by windows in several goroutines; one Window is
// not safe for concurrent use. Windows are mergeable: Merge is commutative exactly and associative exactly
// for every count, min and max, and up to floating-point rounding for mean
// and M2.
type Window struct {
	Version   int    `json:"version"`
	Reference string `json:"reference"`
	// Start and End bound the time of the rows, when the caller sets them;
	// Merge keeps the earliest Start and the latest End.
	Start      time.Time `json:"start,omitzero"`
	End        time.Time `json:"end,omitzero"`
	Features   []Column  `json:"features"`
	Prediction *Column   `json:"prediction,omitempty"`
	ref        *Reference
}

// Column is the window profile of one column.
type Column struct {
	Name    string  `json:"name"`
	Kind    Kind    `json:"kind"`
	Count   int64   `json:"count"`
	Missing int64   `json:"missing"`
	Mean    float64 `json:"mean,omitempty"`
	M2      float64 `json:"m2,omitempty"`
	Min     float64 `json:"min,omitempty"`
	Max     float64 `json:"max,omitempty"`
	// Bins counts numeric values on the reference FineEdges, or categorical
	// values on the reference vocabulary with the last entry for others.
	Bins []int64 `json:"bins"`
	// Sums holds the sum of the values in each fine bin (numeric only).
	Sums []float64 `json:"sums,omitempty"`
}

// NewWindow returns an empty window profile bound to ref.
func NewWindow(ref *Reference) (*Window, error) {
	if ref == nil {
		return nil, fmt.Errorf("new window: %w: nil reference", ErrSchema)
	}
	w := &Window{Version: Version, Reference: ref.ID, Features: make([]Column, len(ref.Features)), ref: ref}
	for i := range ref.Features {
		w.Features[i] = newColumn(&ref.Features[i])
	}
	if ref.Prediction != nil {
		c := newColumn(ref.Prediction)
		w.Prediction = &c
	}
	return w, nil
}

func newColumn(p *Profile) Column {
	c := Column{Name: p.Name, Kind: p.Kind}
	if p.Kind == Numeric {
		c.Bins = make([]int64, len(p.Numeric.FineEdges)+1)
		c.Sums = make([]float64, len(c.Bins))
	} else {
		c.Bins = make([]int64, len(p.Categorical.Values)+1)
	}
	return c
}

// Add folds one row (in reference feature order) into the window.
func (w *Window) Add(row Row) error {
	if w.ref == nil {
		return fmt.Errorf("add row: %w: window not bound to its reference (use NewWindow or ParseWindow)", ErrSchema)
	}
	if len(row) != len(w.Features) {
		return fmt.Errorf("add row: %w: %d values for %d features", ErrSchema, len(row), len(w.Features))
	}
	for i, v := range row {
		w.Features[i].add(&w.ref.Features[i], v)
	}
	return nil
}

// AddPrediction folds one model output into the window. The reference must
// have a prediction profile.
func (w *Window) AddPrediction(v Value) error {
	if w.ref == nil || w.ref.Prediction == nil || w.Prediction == nil {
		return fmt.Errorf("add prediction: %w: reference has no prediction profile", ErrSchema)
	}
	w.Prediction.add(w.ref.Prediction, v)
	return nil
}

func (c *Column) add(p *Profile, v Value) {
	if v.missing(c.Kind) {
		c.Missing++
		return
	}
	if c.Kind == Categorical {
		c.Count++
		c.Bins[p.Categorical.lookup(v.Str)]++
		return
	}
	x := v.Num
	if math.IsInf(x, 0) {
		c.Missing++ // infinities carry no distance information; counted as missing
		return
	}
	c.Count++
	if c.Count == 1 {
		c.Min, c.Max = x, x
	} else {
		c.Min = math.Min(c.Min, x)
		c.Max = math.Max(c.Max, x)
	}
	d := x - c.Mean
	c.Mean += d / float64(c.Count)
	c.M2 += d * (x - c.Mean)
	k := p.Numeric.fineBin(x)
	c.Bins[k]++
	c.Sums[k] += x
}

// Merge folds other into w. Both must be windows of the same reference.
func (w *Window) Merge(other *Window) error {
	if other == nil {
		return nil
	}
	if w.Reference != other.Reference || len(w.Features) != len(other.Features) {
		return fmt.Errorf("merge window: %w: %q and %q", ErrMismatch, w.Reference, other.Reference)
	}
	if (w.Prediction == nil) != (other.Prediction == nil) {
		return fmt.Errorf("merge window: %w: only one has predictions", ErrMismatch)
	}
	for i := range w.Features {
		if err := w.Features[i].compatible(&other.Features[i]); err != nil {
			return fmt.Errorf("merge window: %w", err)
		}
	}
	if w.Prediction != nil {
		if err := w.Prediction.compatible(other.Prediction); err != nil {
			return fmt.Errorf("merge window: %w", err)
		}
		w.Prediction.merge(other.Prediction)
	}
	if !other.Start.IsZero() && (w.Start.IsZero() || other.Start.Before(w.Start)) {
		w.Start = other.Start
	}
	if other.End.After(w.End) {
		w.End = other.End
	}
	for i := range w.Features {
		w.Features[i].merge(&other.Features[i])
	}
	return nil
}

func (c *Column) compatible(o *Column) error {
	if c.Name != o.Name || c.Kind != o.Kind || len(c.Bins) != len(o.Bins) {
		return fmt.Errorf("%w: column %q", ErrMismatch, c.Name)
	}
	return nil
}

// merge combines moments with Chan et al.'s formula. The operands are put in
// a canonical order first, so that a.merge(b) and b.merge(a) give the same
// bits.
func (c *Column) merge(o *Column) {
	a, b := *c, *o
	if less(b, a) {
		a, b = b, a
	}
	n := a.Count + b.Count
	c.Missing = a.Missing + b.Missing
	for i := range c.Bins {
		c.Bins[i] += o.Bins[i]
	}
	for i := range c.Sums {
		c.Sums[i] += o.Sums[i]
	}
	if c.Kind == Categorical {
		c.Count = n
		return
	}
	switch {
	case a.Count == 0:
		c.Mean, c.M2, c.Min, c.Max = b.Mean, b.M2, b.Min, b.Max
	case b.Count == 0:
		c.Mean, c.M2, c.Min, c.Max = a.Mean, a.M2, a.Min, a.Max
	default:
		na, nb, nn := float64(a.Count), float64(b.Count), float64(n)
		d := b.Mean - a.Mean
		c.Mean = a.Mean + d*(nb/nn)
		c.M2 = a.M2 + b.M2 + d*d*(na*nb/nn)
		c.Min = math.Min(a.Min, b.Min)
		c.Max = math.Max(a.Max, b.Max)
	}
	c.Count = n
}

func less(a, b Column) bool {
	if a.Count != b.Count {
		return a.Count < b.Count
	}
	if a.Mean != b.Mean {
		return a.Mean < b.Mean
	}
	return a.M2 < b.M2
}

// Clone returns a deep copy bound to the same reference.
func (w *Window) Clone() *Window {
	c := *w
	c.Features = make([]Column, len(w.Features))
	for i, f := range w.Features {
		f.Bins = slices.Clone(f.Bins)
		f.Sums = slices.Clone(f.Sums)
		c.Features[i] = f
	}
	if w.Prediction != nil {
		p := *w.Prediction
		p.Bins = slices.Clone(p.Bins)
		p.Sums = slices.Clone(p.Sums)
		c.Prediction = &p
	}
	return &c
}

// Rows returns the number of rows folded into the window.
func (w *Window) Rows() int64 {
	if len(w.Features) == 0 {
		return 0
	}
	return w.Features[0].Count + w.Features[0].Missing
}

// Std returns the population standard deviation of a numeric column.
func (c *Column) Std() float64 {
	if c.Count == 0 {
		return 0
	}
	return math.Sqrt(c.M2 / float64(c.Count))
}

// ParseWindow decodes a JSON window, validates it against ref and binds it,
// so that it can take more rows and be compared.
func ParseWindow(data []byte, ref *Reference) (*Window, error) {
	var w Window
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("parse window: %w: %w", ErrFormat, err)
	}
	if err := w.Bind(ref); err != nil {
		return nil, fmt.Errorf("parse window: %w", err)
	}
	return &w, nil
}

// Bind validates w against ref and attaches it.
func (w *Window) Bind(ref *Reference) error {
	if ref == nil {
		return fmt.Errorf("bind window: %w: nil reference", ErrSchema)
	}
	if w.Version != Version {
		return fmt.Errorf("bind window: %w: version %d, want %d", ErrFormat, w.Version, Version)
	}
	if w.Reference != ref.ID {
		return fmt.Errorf("bind window: %w: window of %q, reference %q", ErrMismatch, w.Reference, ref.ID)
	}
	if len(w.Features) != len(ref.Features) || (w.Prediction == nil) != (ref.Prediction == nil) {
		return fmt.Errorf("bind window: %w: columns differ from the reference", ErrMismatch)
	}
	for i := range w.Features {
		if err := w.Features[i].validate(&ref.Features[i]); err != nil {
			return fmt.Errorf("bind window: %w", err)
		}
	}
	if w.Prediction != nil {
		if err := w.Prediction.validate(ref.Prediction); err != nil {
			return fmt.Errorf("bind window: %w", err)
		}
	}
	w.ref = ref
	return nil
}

func (c *Column) validate(p *Profile) error {
	want := newColumn(p)
	if c.Name != want.Name || c.Kind != want.Kind || len(c.Bins) != len(want.Bins) || len(c.Sums) != len(want.Sums) {
		return fmt.Errorf("%w: column %q does not match reference column %q", ErrMismatch, c.Name, p.Name)
	}
	s, ok := sum64(c.Bins)
	if !ok || c.Count < 0 || c.Missing < 0 || s != c.Count {
		return fmt.Errorf("%w: column %q: bins do not sum to count %d", ErrFormat, c.Name, c.Count)
	}
	if !finite(c.Mean, c.M2, c.Min, c.Max) || !finite(c.Sums...) || c.M2 < 0 || (c.Count > 0 && c.Min > c.Max) {
		return fmt.Errorf("%w: column %q: bad moments", ErrFormat, c.Name)
	}
	return nil
}
