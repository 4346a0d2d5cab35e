package drift

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync/atomic"
)

// Version is the version of the Reference and Window formats written by this
// package. Parsers reject other versions.
const Version = 1

// Kind says how a column is compared: numeric columns by distributions over
// bins and quantiles, categorical columns by category frequencies.
type Kind string

// The kinds of column.
const (
	Numeric     Kind = "numeric"
	Categorical Kind = "categorical"
)

// PredictionName is the column name used for the model output in reports.
const PredictionName = "prediction"

// Defaults of the reference builder.
const (
	// DefaultBins is the number of coarse bins (deciles of the training data)
	// on which PSI and Jensen-Shannon are computed.
	DefaultBins = 10
	// DefaultFineBins is the number of fine quantile bins a window keeps per
	// numeric feature for KS and Wasserstein from profiles.
	DefaultFineBins = 1024
	// DefaultMaxCategories is the vocabulary size kept per categorical
	// feature; rarer and unseen values count as OtherCategory.
	DefaultMaxCategories = 256
)

// OtherCategory is the bucket for values outside a reference vocabulary.
const OtherCategory = "__other__"

// Sentinel errors.
var (
	// ErrSchema reports a row or profile that does not fit the schema.
	ErrSchema = errors.New("drift: schema mismatch")
	// ErrFormat reports a malformed serialized profile.
	ErrFormat = errors.New("drift: malformed profile")
	// ErrMismatch reports profiles built against different references.
	ErrMismatch = errors.New("drift: profiles of different references")
	// ErrEmpty reports a statistic asked of an empty sample.
	ErrEmpty = errors.New("drift: empty sample")
)

// Feature is one column of the schema.
type Feature struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
}

// Value is one cell: a number for numeric columns, a string for categorical
// ones, or Null. A numeric NaN counts as missing too.
type Value struct {
	Num  float64
	Str  string
	Null bool
}

// Num returns a numeric value.
func Num(x float64) Value { return Value{Num: x} }

// Cat returns a categorical value.
func Cat(s string) Value { return Value{Str: s} }

// Null returns a missing value.
func Null() Value { return Value{Null: true} }

func (v Value) missing(k Kind) bool {
	return v.Null || (k == Numeric && math.IsNaN(v.Num))
}

// Row is one record, in schema order.
type Row []Value

// Profile is the reference profile of one column.
type Profile struct {
	Name        string              `json:"name"`
	Kind        Kind                `json:"kind"`
	Count       int64               `json:"count"`
	Missing     int64               `json:"missing"`
	Numeric     *NumericProfile     `json:"numeric,omitempty"`
	Categorical *CategoricalProfile `json:"categorical,omitempty"`
}

// NumericProfile summarizes a numeric column of the training data.
//
// Edges are the deduplicated deciles (numpy.quantile, method "linear") of the
// non-missing values; Hist[i] counts values in (Edges[i-1], Edges[i]] with
// open-ended outer bins, so len(Hist) == len(Edges)+1. FineEdges is the sorted
// union of Edges and about DefaultFineBins order statistics (all distinct
// values when there are fewer), with FineHist on the same convention.
type NumericProfile struct {
	Mean      float64   `json:"mean"`
	Std       float64   `json:"std"` // population standard deviation (ddof=0)
	Min       float64   `json:"min"`
	Max       float64   `json:"max"`
	Edges     []float64 `json:"edges"`
	Hist      []int64   `json:"hist"`
	FineEdges []float64 `json:"fine_edges"`
	FineHist  []int64   `json:"fine_hist"`
	// FineSum is the sum of the values in each fine bin, so that the mass of
	// a bin can be placed at its mean (Wasserstein from profiles).
	FineSum []float64             `json:"fine_sum"`
	acc     atomic.Pointer[accel] // derived lookups, built on first use
}

// accel holds lookups derived from the edges: the coarse bin of each fine
// bin, and a table over a uniform grid of the fine-edge range giving the
// first fine bin of each cell, which narrows each bin search to a few edges.
type accel struct {
	coarse    []int
	lut       []int32
	lo, scale float64
}

const lutCells = 4096

func (n *NumericProfile) lookups() *accel {
	if a := n.acc.Load(); a != nil {
		return a
	}
	a := &accel{coarse: make([]int, len(n.FineEdges)+1)}
	for i, e := range n.FineEdges {
		a.coarse[i] = binIndex(n.Edges, e)
	}
	a.coarse[len(n.FineEdges)] = len(n.Edges)
	if k := len(n.FineEdges); k > 16 && n.FineEdges[k-1] > n.FineEdges[0] {
		a.lo = n.FineEdges[0]
		a.scale = lutCells / (n.FineEdges[k-1] - a.lo)
		a.lut = make([]int32, lutCells+2)
		for c := range a.lut {
			a.lut[c] = int32(binIndex(n.FineEdges, a.lo+float64(c)/a.scale))
		}
		if math.IsInf(a.scale, 0) || math.IsNaN(a.scale) {
			a.lut = nil
		}
	}
	n.acc.Store(a)
	return a
}

// coarseOf maps each fine bin to the coarse bin that contains it; the fine
// edges contain the coarse ones, so every fine bin lies in one coarse bin.
func (n *NumericProfile) coarseOf() []int { return n.lookups().coarse }

// fineBin is binIndex(n.FineEdges, x), narrowed by the lookup table and
// checked, falling back to the full search when rounding misplaces x.
func (n *NumericProfile) fineBin(x float64) int {
	a := n.lookups()
	e := n.FineEdges
	if a.lut == nil || !(x > e[0]) || x > e[len(e)-1] {
		return binIndex(e, x)
	}
	c := int((x - a.lo) * a.scale)
	if c < 0 || c >= len(a.lut)-1 {
		return binIndex(e, x)
	}
	lo, hi := int(a.lut[c]), int(a.lut[c+1])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if (lo > 0 && !(e[lo-1] < x)) || (lo < len(e) && !(e[lo] >= x)) {
		return binIndex(e, x)
	}
	return lo
}

// CategoricalProfile holds the vocabulary of a categorical column and its
// frequencies; Other counts values outside the vocabulary.
type CategoricalProfile struct {
	Values []string                       `json:"values"`
	Counts []int64                        `json:"counts"`
	Other  int64                          `json:"other"`
	index  atomic.Pointer[map[string]int] // built on first use
}

func (c *CategoricalProfile) lookup(s string) int {
	m := c.index.Load()
	if m == nil {
		idx := make(map[string]int, len(c.Values))
		for i, v := range c.Values {
			idx[v] = i
		}
		m = &idx
		c.index.Store(m)
	}
	if i, ok := (*m)[s]; ok {
		return i
	}
	return len(c.Values)
}

// Reference is the profile of the training data that windows of live traffic
// are compared with. It is JSON-serializable; ID is a content hash that
// windows carry so that profiles of different references never merge.
type Reference struct {
	Version    int       `json:"version"`
	ID         string    `json:"id"`
	Features   []Profile `json:"features"`
	Prediction *Profile  `json:"prediction,omitempty"`
}

// Schema returns the features of the reference, in order.
func (r *Reference) Schema() []Feature {
	s := make([]Feature, len(r.Features))
	for i, p := range r.Features {
		s[i] = Feature{Name: p.Name, Kind: p.Kind}
	}
	return s
}

// SetPrediction records the distribution of the model output on training
// data (class labels as a Categorical profile, regression outputs as a
// Numeric one) and refreshes the ID. Build p with BuildProfile.
func (r *Reference) SetPrediction(p *Profile) error {
	if p != nil {
		if err := p.validate(); err != nil {
			return fmt.Errorf("set prediction: %w", err)
		}
	}
	r.Prediction = p
	r.ID = ""
	r.ID = r.hash()
	return nil
}

func (r *Reference) hash() string {
	c := *r
	c.ID = ""
	b, err := json.Marshal(&c)
	if err != nil { // only NaN/Inf could fail, and validate rejects them
		return ""
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:12])
}

// ParseReference decodes and validates a JSON reference profile.
func ParseReference(data []byte) (*Reference, error) {
	var r Reference
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parse reference: %w: %w", ErrFormat, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("parse reference: %w", err)
	}
	return &r, nil
}

// Validate checks the internal consistency of a reference.
func (r *Reference) Validate() error {
	if r.Version != Version {
		return fmt.Errorf("%w: version %d, want %d", ErrFormat, r.Version, Version)
	}
	if len(r.Features) == 0 {
		return fmt.Errorf("%w: no features", ErrFormat)
	}
	seen := map[string]bool{}
	for i := range r.Features {
		p := &r.Features[i]
		if seen[p.Name] {
			return fmt.Errorf("%w: duplicate feature %q", ErrFormat, p.Name)
		}
		seen[p.Name] = true
		if err := p.validate(); err != nil {
			return err
		}
	}
	if r.Prediction != nil {
		if err := r.Prediction.validate(); err != nil {
			return err
		}
	}
	return nil
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func strictlyIncreasing(e []float64) bool {
	for i, x := range e {
		if !finite(x) || (i > 0 && !(e[i-1] < x)) {
			return false
		}
	}
	return true
}

func sum64(xs []int64) (int64, bool) {
	var s int64
	for _, x := range xs {
		if x < 0 || s > math.MaxInt64-x {
			return 0, false
		}
		s += x
	}
	return s, true
}

func (p *Profile) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: feature %q: %s", ErrFormat, p.Name, fmt.Sprintf(format, a...))
	}
	if p.Name == "" {
		return fmt.Errorf("%w: feature without a name", ErrFormat)
	}
	if p.Count < 0 || p.Missing < 0 {
		return bad("negative count")
	}
	switch p.Kind {
	case Numeric:
		n := p.Numeric
		if n == nil || p.Categorical != nil {
			return bad("numeric feature needs exactly a numeric profile")
		}
		if !finite(n.Mean, n.Std, n.Min, n.Max) || n.Std < 0 {
			return bad("non-finite moments")
		}
		if !strictlyIncreasing(n.Edges) || !strictlyIncreasing(n.FineEdges) {
			return bad("edges not finite and strictly increasing")
		}
		if len(n.Hist) != len(n.Edges)+1 || len(n.FineHist) != len(n.FineEdges)+1 || len(n.FineSum) != len(n.FineHist) {
			return bad("histogram sizes do not match edges")
		}
		s1, ok1 := sum64(n.Hist)
		s2, ok2 := sum64(n.FineHist)
		if !ok1 || !ok2 || s1 != p.Count || s2 != p.Count {
			return bad("histograms do not sum to count %d", p.Count)
		}
		if p.Count > 0 && n.Min > n.Max {
			return bad("min above max")
		}
		for _, e := range n.Edges {
			if _, ok := slices.BinarySearch(n.FineEdges, e); !ok {
				return bad("coarse edge %g is not a fine edge", e)
			}
		}
		if !finite(n.FineSum...) {
			return bad("non-finite bin sums")
		}
	case Categorical:
		c := p.Categorical
		if c == nil || p.Numeric != nil {
			return bad("categorical feature needs exactly a categorical profile")
		}
		if len(c.Values) != len(c.Counts) {
			return bad("vocabulary and counts differ in length")
		}
		vs := map[string]bool{}
		for _, v := range c.Values {
			if vs[v] || v == OtherCategory {
				return bad("duplicate or reserved category %q", v)
			}
			vs[v] = true
		}
		s, ok := sum64(append(slices.Clone(c.Counts), c.Other))
		if !ok || s != p.Count {
			return bad("category counts do not sum to count %d", p.Count)
		}
	default:
		return bad("unknown kind %q", p.Kind)
	}
	return nil
}

// BuilderOptions tunes a ReferenceBuilder; zero fields take the defaults.
type BuilderOptions struct {
	Bins          int // coarse bins from quantiles (DefaultBins)
	FineBins      int // fine bins for KS and Wasserstein (DefaultFineBins)
	MaxCategories int // vocabulary size per categorical feature (DefaultMaxCategories)
}

func (o BuilderOptions) withDefaults() BuilderOptions {
	if o.Bins <= 0 {
		o.Bins = DefaultBins
	}
	if o.FineBins <= 0 {
		o.FineBins = DefaultFineBins
	}
	if o.MaxCategories <= 0 {
		o.MaxCategories = DefaultMaxCategories
	}
	return o
}

// ReferenceBuilder builds a Reference from training rows.
//
// Moments and categorical frequencies are computed in one streaming pass.
// Bin edges need exact quantiles, so the builder keeps the non-missing values
// of each numeric feature in memory (8 bytes per value) and sorts them in
// Build: this is the "two passes over an in-memory training split" choice,
// which makes the edges equal numpy's, and is fine for training splits.
type ReferenceBuilder struct {
	schema []Feature
	opts   BuilderOptions
	cols   []colBuilder
}

type colBuilder struct {
	count, missing int64
	values         []float64
	cats           map[string]int64
	// sortedFinite: values are already sorted and finite (CheckSample's
	// sorted copies), so profile need not check and sort them again.
	sortedFinite bool
}

// NewReferenceBuilder returns a builder for rows of the given schema.
func NewReferenceBuilder(schema []Feature, opts ...BuilderOptions) (*ReferenceBuilder, error) {
	if len(schema) == 0 {
		return nil, fmt.Errorf("new reference builder: %w: empty schema", ErrSchema)
	}
	seen := map[string]bool{}
	for _, f := range schema {
		if f.Name == "" || seen[f.Name] {
			return nil, fmt.Errorf("new reference builder: %w: empty or duplicate name %q", ErrSchema, f.Name)
		}
		seen[f.Name] = true
		if f.Kind != Numeric && f.Kind != Categorical {
			return nil, fmt.Errorf("new reference builder: %w: feature %q has kind %q", ErrSchema, f.Name, f.Kind)
		}
	}
	var o BuilderOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	b := &ReferenceBuilder{schema: slices.Clone(schema), opts: o.withDefaults(), cols: make([]colBuilder, len(schema))}
	for i, f := range schema {
		if f.Kind == Categorical {
			b.cols[i].cats = map[string]int64{}
		}
	}
	return b, nil
}

// Add folds one row into the builder.
func (b *ReferenceBuilder) Add(row Row) error {
	if len(row) != len(b.schema) {
		return fmt.Errorf("add row: %w: %d values for %d features", ErrSchema, len(row), len(b.schema))
	}
	for i, v := range row {
		b.cols[i].add(b.schema[i].Kind, v)
	}
	return nil
}

func (c *colBuilder) add(k Kind, v Value) {
	if v.missing(k) {
		c.missing++
		return
	}
	c.count++
	if k == Numeric {
		c.values = append(c.values, v.Num)
	} else {
		c.cats[v.Str]++
	}
}

// Build returns the reference profile. The builder can be used again after.
func (b *ReferenceBuilder) Build() (*Reference, error) {
	r := &Reference{Version: Version, Features: make([]Profile, len(b.schema))}
	for i, f := range b.schema {
		p, err := b.cols[i].profile(f, b.opts)
		if err != nil {
			return nil, fmt.Errorf("build reference: %w", err)
		}
		r.Features[i] = p
	}
	r.ID = r.hash()
	return r, nil
}

// BuildProfile profiles one column from its values, e.g. the model's
// predictions on the training split for Reference.SetPrediction.
func BuildProfile(f Feature, values []Value, opts ...BuilderOptions) (*Profile, error) {
	b, err := NewReferenceBuilder([]Feature{f}, opts...)
	if err != nil {
		return nil, fmt.Errorf("build profile: %w", err)
	}
	for _, v := range values {
		b.cols[0].add(f.Kind, v)
	}
	p, err := b.cols[0].profile(f, b.opts)
	if err != nil {
		return nil, fmt.Errorf("build profile: %w", err)
	}
	return &p, nil
}

func (c *colBuilder) profile(f Feature, o BuilderOptions) (Profile, error) {
	p := Profile{Name: f.Name, Kind: f.Kind, Count: c.count, Missing: c.missing}
	if f.Kind == Categorical {
		p.Categorical = vocabulary(c.cats, o.MaxCategories)
		return p, nil
	}
	xs := c.values // sorted in place: the order of the builder's values does not matter
	if !c.sortedFinite {
		for _, x := range xs {
			if math.IsInf(x, 0) {
				return p, fmt.Errorf("feature %q: %w: infinite value", f.Name, ErrSchema)
			}
		}
		sortFloats(xs)
	}
	np := &NumericProfile{}
	p.Numeric = np
	if len(xs) > 0 {
		np.Min, np.Max = xs[0], xs[len(xs)-1]
		np.Mean, np.Std = meanStd(xs)
		for k := 1; k < o.Bins; k++ {
			np.Edges = append(np.Edges, quantileSorted(xs, float64(k)/float64(o.Bins)))
		}
		np.Edges = dedup(np.Edges)
		np.FineEdges = fineEdges(xs, o.FineBins, np.Edges)
	}
	np.Hist = countsSorted(xs, np.Edges)
	np.FineHist, np.FineSum = histogramSorted(xs, np.FineEdges)
	return p, nil
}

// vocabulary keeps the max most frequent categories (ties by value).
func vocabulary(cats map[string]int64, max int) *CategoricalProfile {
	type vc struct {
		v string
		n int64
	}
	all := make([]vc, 0, len(cats))
	for v, n := range cats {
		all = append(all, vc{v, n})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].v < all[j].v
	})
	c := &CategoricalProfile{Values: []string{}, Counts: []int64{}}
	for i, x := range all {
		if i < max && x.v != OtherCategory {
			c.Values = append(c.Values, x.v)
			c.Counts = append(c.Counts, x.n)
		} else {
			c.Other += x.n
		}
	}
	return c
}

// meanStd returns the mean and population standard deviation (ddof=0), with
// numpy's two-pass formula.
func meanStd(xs []float64) (float64, float64) {
	var s float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	var ss float64
	for _, x := range xs {
		d := x - m
		ss += d * d
	}
	return m, math.Sqrt(ss / float64(len(xs)))
}

// quantileSorted is numpy.quantile(xs, q) with method="linear" on sorted xs.
func quantileSorted(xs []float64, q float64) float64 {
	n := len(xs)
	vi := float64(n-1) * q
	prev := math.Floor(vi)
	i := int(prev)
	if i >= n-1 {
		return xs[n-1]
	}
	if i < 0 {
		return xs[0]
	}
	g := vi - prev
	a, b := xs[i], xs[i+1]
	d := b - a
	if g >= 0.5 {
		return b - d*(1-g)
	}
	return a + d*g
}

func dedup(e []float64) []float64 {
	slices.Sort(e)
	return slices.Compact(e)
}

// fineEdges returns all distinct values but the largest when there are at
// most fine of them (so discrete features are binned exactly), else the
// order statistics at ranks ceil(k*n/fine), merged with the coarse edges.
func fineEdges(xs []float64, fine int, coarse []float64) []float64 {
	distinct := make([]float64, 0, fine+1)
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			distinct = append(distinct, x)
			if len(distinct) > fine {
				break
			}
		}
	}
	var e []float64
	if len(distinct) <= fine {
		e = distinct[:len(distinct)-1]
	} else {
		n := len(xs)
		for k := 1; k < fine; k++ {
			r := (k*n + fine - 1) / fine
			e = append(e, xs[r-1])
		}
	}
	e = append(e, coarse...)
	e = dedup(e)
	return e
}

// binIndex is numpy.searchsorted(edges, x, side="left"): the bin
// (edges[i-1], edges[i]] that holds x.
func binIndex(edges []float64, x float64) int {
	lo, hi := 0, len(edges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if edges[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// histogramSorted counts sorted values on the edges (as histogram) and sums
// them per bin, in one merge walk.
func histogramSorted(sorted []float64, edges []float64) ([]int64, []float64) {
	h := make([]int64, len(edges)+1)
	s := make([]float64, len(edges)+1)
	k := 0
	for _, x := range sorted {
		for k < len(edges) && edges[k] < x {
			k++
		}
		h[k]++
		s[k] += x
	}
	return h, s
}

// countsSorted is the count half of histogramSorted, by binary search: the
// values in bin k of sorted values are those after the last value <= the
// previous edge and up to the last value <= edges[k], so the cost is
// O(len(edges) log n) instead of a pass over the values.
func countsSorted(sorted []float64, edges []float64) []int64 {
	h := make([]int64, len(edges)+1)
	prev := 0
	for k, e := range edges {
		// the first value > e; the edges ascend, so search after prev
		at := prev + sort.Search(len(sorted)-prev, func(i int) bool { return sorted[prev+i] > e })
		h[k] = int64(at - prev)
		prev = at
	}
	h[len(edges)] = int64(len(sorted) - prev)
	return h
}

func histogram(sorted []float64, edges []float64) []int64 {
	h := make([]int64, len(edges)+1)
	for _, x := range sorted {
		h[binIndex(edges, x)]++
	}
	return h
}
