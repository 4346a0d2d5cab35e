package drift

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
)

// Method names a drift statistic used for a verdict.
type Method string

// The statistics.
const (
	KS                  Method = "ks"            // Kolmogorov-Smirnov, p-value
	ChiSquareTest       Method = "chisquare"     // chi-square homogeneity, p-value
	WassersteinM        Method = "wasserstein"   // Wasserstein / reference std
	JensenShannonMethod Method = "jensenshannon" // Jensen-Shannon distance, natural log
	PSIM                Method = "psi"           // population stability index
	LInf                Method = "linf"          // L-infinity distance
)

// Policy decides verdicts. The zero value is not useful: start from
// DefaultPolicy (or VertexPolicy) and change fields.
type Policy struct {
	// MinCount is the smallest number of non-missing window values that gets
	// a verdict; below it a column is "insufficient_data".
	MinCount int64 `json:"min_count"`
	// LargeCount: windows with more values than this are judged by a distance
	// (WassersteinNorm for numeric, JensenShannon for categorical) instead of
	// a p-value, because p-values flag every tiny shift on large samples.
	LargeCount int64 `json:"large_count"`
	// PValue is the significance level of KS and chi-square.
	PValue float64 `json:"p_value"`
	// Distance thresholds: drift when the statistic exceeds it.
	WassersteinNorm float64 `json:"wasserstein_norm"`
	JensenShannon   float64 `json:"jensenshannon"`
	PSI             float64 `json:"psi"`
	LInfinity       float64 `json:"linf"`
	// DriftShare: the dataset drifts when at least this share of the
	// evaluated features drift.
	DriftShare float64 `json:"drift_share"`
	// NumericMethod and CategoricalMethod force one statistic for every
	// window size; empty chooses by LargeCount as described above.
	NumericMethod     Method `json:"numeric_method,omitempty"`
	CategoricalMethod Method `json:"categorical_method,omitempty"`
}

// DefaultPolicy returns the defaults documented in the package comment
// (Evidently's DataDriftPreset rules, with PSI and L-infinity thresholds
// available for forced methods).
func DefaultPolicy() Policy {
	return Policy{
		MinCount:        100,
		LargeCount:      1000,
		PValue:          0.05,
		WassersteinNorm: 0.1,
		JensenShannon:   0.1,
		PSI:             0.2,
		LInfinity:       0.3,
		DriftShare:      0.5,
	}
}

// VertexPolicy mirrors Vertex AI Model Monitoring's defaults: Jensen-Shannon
// for numeric features and L-infinity for categorical ones, threshold 0.3.
func VertexPolicy() Policy {
	p := DefaultPolicy()
	p.NumericMethod, p.CategoricalMethod = JensenShannonMethod, LInf
	p.JensenShannon, p.LInfinity = 0.3, 0.3
	return p
}

// wantKSPValue tells whether a verdict on n values may use the KS p-value;
// only then is the exact p-value, which costs O(n1*n2*D), computed.
func (p Policy) wantKSPValue(n int64) bool {
	return p.NumericMethod == KS || (p.NumericMethod == "" && n <= p.LargeCount)
}

func (p Policy) validate() error {
	if p.MinCount < 0 || p.LargeCount < 0 || !(p.PValue > 0 && p.PValue < 1) || !(p.DriftShare > 0 && p.DriftShare <= 1) ||
		!(p.WassersteinNorm > 0) || !(p.JensenShannon > 0) || !(p.PSI > 0) || !(p.LInfinity > 0) {
		return fmt.Errorf("drift policy: %w: thresholds must be positive, p-value and drift share in (0,1]", ErrSchema)
	}
	for _, m := range []Method{p.NumericMethod, p.CategoricalMethod} {
		switch m {
		case "", KS, ChiSquareTest, WassersteinM, JensenShannonMethod, PSIM, LInf:
		default:
			return fmt.Errorf("drift policy: %w: unknown method %q", ErrSchema, m)
		}
	}
	return nil
}

// Stats holds every statistic of one column against its reference.
// Numeric columns fill PSI, JensenShannon (on the reference deciles),
// WassersteinNorm, KS and KSPValue; categorical columns fill ChiSquare,
// ChiSquarePValue, JensenShannon and LInfinity (over the categories).
type Stats struct {
	PSI             float64
	JensenShannon   float64
	WassersteinNorm float64
	KS              float64
	KSPValue        *float64 // nil when the exact p-value is out of reach
	ChiSquare       float64
	ChiSquarePValue *float64
	LInfinity       float64
	// Bounds of the approximation on the profile path (0 on the exact path):
	// the true KS statistic lies in [KS, KS+KSBound], the true normalized
	// Wasserstein distance within WassersteinBound of WassersteinNorm.
	KSBound          float64
	WassersteinBound float64
	// Shares of the reference and the window in each coarse bin or category.
	Labels       []string
	Ref, Current []float64
}

// FeatureResult is the verdict on one column.
type FeatureResult struct {
	Feature   string             `json:"feature"`
	Kind      Kind               `json:"kind"`
	Method    Method             `json:"method"`
	Statistic float64            `json:"statistic"`
	PValue    *float64           `json:"p_value,omitempty"`
	Threshold float64            `json:"threshold"`
	Drifted   bool               `json:"drifted"`
	Verdict   string             `json:"verdict"` // drift, no_drift, insufficient_data
	Count     int64              `json:"count"`
	Missing   int64              `json:"missing"`
	Stats     map[string]float64 `json:"stats"`
	Bins      []BinShare         `json:"bins,omitempty"`
}

// BinShare is the share of the reference and of the window in one bin or
// category, for charts.
type BinShare struct {
	Label   string  `json:"label"`
	Ref     float64 `json:"ref"`
	Current float64 `json:"current"`
}

// Verdicts.
const (
	VerdictDrift        = "drift"
	VerdictNoDrift      = "no_drift"
	VerdictInsufficient = "insufficient_data"
)

// Report is the result of one drift check.
type Report struct {
	Version    int             `json:"version"`
	Reference  string          `json:"reference"`
	Path       string          `json:"path"` // "profile" or "samples"
	Rows       int64           `json:"rows"`
	Policy     Policy          `json:"policy"`
	Features   []FeatureResult `json:"features"`
	Prediction *FeatureResult  `json:"prediction,omitempty"`
	Evaluated  int             `json:"evaluated_features"`
	Drifted    int             `json:"drifted_features"`
	DriftShare float64         `json:"drift_share"`
	// DatasetDrift is true when DriftShare >= Policy.DriftShare.
	DatasetDrift bool              `json:"dataset_drift"`
	Labels       map[string]string `json:"labels,omitempty"`
}

// Check compares a window profile with its reference profile.
func Check(ref *Reference, win *Window, policy Policy) (*Report, error) {
	if err := policy.validate(); err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	if ref == nil || win == nil {
		return nil, fmt.Errorf("check: %w: nil profile", ErrSchema)
	}
	if win.ref != ref {
		if err := win.Bind(ref); err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
	}
	r := &Report{Version: Version, Reference: ref.ID, Path: "profile", Rows: win.Rows(), Policy: policy}
	for i := range ref.Features {
		fr, err := profileResult(&ref.Features[i], &win.Features[i], policy)
		if err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		r.Features = append(r.Features, fr)
	}
	if ref.Prediction != nil {
		fr, err := profileResult(ref.Prediction, win.Prediction, policy)
		if err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		r.Prediction = &fr
	}
	r.summarize()
	return r, nil
}

func profileResult(p *Profile, c *Column, policy Policy) (FeatureResult, error) {
	fr := FeatureResult{Feature: p.Name, Kind: p.Kind, Count: c.Count, Missing: c.Missing}
	if c.Count == 0 || p.Count == 0 {
		return fr.insufficient(policy), nil
	}
	var st Stats
	var err error
	if p.Kind == Numeric {
		st, err = numericProfileStats(p, c, policy.wantKSPValue(c.Count))
	} else {
		st, err = categoricalProfileStats(p, c)
	}
	if err != nil {
		return fr, fmt.Errorf("feature %q: %w", p.Name, err)
	}
	return fr.decide(st, policy), nil
}

// Sample is raw data by column, in schema order: Num[i] holds the values of
// numeric feature i, Str[i] those of categorical feature i; Rows is the number
// of rows, so a column with fewer values has that many missing. NaN and
// infinite numbers count as missing.
type Sample struct {
	Rows int64
	Num  [][]float64
	Str  [][]string
}

// SampleOf turns rows into a Sample.
func SampleOf(schema []Feature, rows []Row) (Sample, error) {
	s := Sample{Rows: int64(len(rows)), Num: make([][]float64, len(schema)), Str: make([][]string, len(schema))}
	// Every column gets room for one value per row up front; the numeric
	// ones share one pointer-free array, which the garbage collector does
	// not scan.
	numeric := 0
	for _, f := range schema {
		if f.Kind == Numeric {
			numeric++
		}
	}
	backing := make([]float64, numeric*len(rows))
	for i, f := range schema {
		if f.Kind == Numeric {
			s.Num[i], backing = backing[:0:len(rows)], backing[len(rows):]
		} else {
			s.Str[i] = make([]string, 0, len(rows))
		}
	}
	for _, row := range rows {
		if len(row) != len(schema) {
			return s, fmt.Errorf("sample of rows: %w: %d values for %d features", ErrSchema, len(row), len(schema))
		}
		for i, v := range row {
			if v.missing(schema[i].Kind) {
				continue
			}
			if schema[i].Kind == Numeric {
				s.Num[i] = append(s.Num[i], v.Num)
			} else {
				s.Str[i] = append(s.Str[i], v.Str)
			}
		}
	}
	return s, nil
}

// CheckSamples compares two raw samples of rows of the given schema exactly;
// see CheckSample.
func CheckSamples(schema []Feature, ref, cur []Row, policy Policy) (*Report, error) {
	rs, err := SampleOf(schema, ref)
	if err != nil {
		return nil, fmt.Errorf("check samples: reference: %w", err)
	}
	cs, err := SampleOf(schema, cur)
	if err != nil {
		return nil, fmt.Errorf("check samples: current: %w", err)
	}
	// The samples are this call's own: sort them in place instead of copying.
	return checkSample(schema, rs, cs, policy, true)
}

// CheckSample compares two raw samples exactly: the reference profile (bins,
// std) is built from ref, KS and Wasserstein come from the sorted samples,
// and categorical statistics from the union of the categories of both
// samples (unlike profiles, which fold values outside the reference
// vocabulary into one bucket). Both samples stay in memory.
func CheckSample(schema []Feature, ref, cur Sample, policy Policy) (*Report, error) {
	return checkSample(schema, ref, cur, policy, false)
}

// checkSample is CheckSample; owned says the numeric columns belong to the
// call and may be filtered and sorted in place.
func checkSample(schema []Feature, ref, cur Sample, policy Policy, owned bool) (*Report, error) {
	if err := policy.validate(); err != nil {
		return nil, fmt.Errorf("check samples: %w", err)
	}
	b, err := NewReferenceBuilder(schema)
	if err != nil {
		return nil, fmt.Errorf("check samples: %w", err)
	}
	for _, s := range []Sample{ref, cur} {
		if len(s.Num) != len(schema) || len(s.Str) != len(schema) {
			return nil, fmt.Errorf("check samples: %w: sample has %d/%d columns for %d features", ErrSchema, len(s.Num), len(s.Str), len(schema))
		}
	}
	results := make([]FeatureResult, len(schema))
	profiles := make([]Profile, len(schema))
	errs := make([]error, len(schema))
	// Features are independent: check them on up to GOMAXPROCS goroutines,
	// each taking the next feature index, and keep the results in schema
	// order so the report does not depend on the scheduling.
	workers := min(runtime.GOMAXPROCS(0), len(schema))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var sc radixScratch
			for {
				i := int(next.Add(1) - 1)
				if i >= len(schema) {
					return
				}
				results[i], profiles[i], errs[i] = checkSampleFeature(b, &sc, owned, i, schema[i], ref, cur, policy)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	refID := Reference{Version: Version, Features: profiles}
	r := &Report{Version: Version, Reference: refID.hash(), Path: "samples", Rows: cur.Rows, Policy: policy, Features: results}
	r.summarize()
	return r, nil
}

// checkSampleFeature checks feature i of two samples and returns its result
// and its reference profile (without the fine bins, which are not part of the
// reference id). It writes only b.cols[i], so features can run concurrently.
func checkSampleFeature(b *ReferenceBuilder, sc *radixScratch, owned bool, i int, f Feature, ref, cur Sample, policy Policy) (FeatureResult, Profile, error) {
	fr := FeatureResult{Feature: f.Name, Kind: f.Kind}
	var st Stats
	var p Profile
	var err error
	if f.Kind == Numeric {
		var rs, cs []float64
		if owned {
			rs, cs = sortFinite(ref.Num[i][:0], ref.Num[i], sc), sortFinite(cur.Num[i][:0], cur.Num[i], sc)
		} else {
			// The copies live in the worker's buffers: nothing keeps them
			// after this feature (the profile copies what it needs).
			sc.ref, sc.cur = sortFinite(sc.ref[:0], ref.Num[i], sc), sortFinite(sc.cur[:0], cur.Num[i], sc)
			rs, cs = sc.ref, sc.cur
		}
		b.cols[i] = colBuilder{count: int64(len(rs)), missing: ref.Rows - int64(len(rs)), values: rs, sortedFinite: true}
		if p, err = b.cols[i].profile(f, b.opts); err != nil {
			return fr, p, fmt.Errorf("check samples: %w", err)
		}
		fr.Count, fr.Missing = int64(len(cs)), cur.Rows-int64(len(cs))
		if len(cs) > 0 && len(rs) > 0 {
			st, err = numericSampleStats(rs, cs, &p, policy.wantKSPValue(int64(len(cs))))
		}
		b.cols[i].values = nil // the sorted copy is not needed after the statistics
	} else {
		rs, cs := ref.Str[i], cur.Str[i]
		c := colBuilder{count: int64(len(rs)), missing: ref.Rows - int64(len(rs)), cats: map[string]int64{}}
		for _, v := range rs {
			c.cats[v]++
		}
		if p, err = c.profile(f, b.opts); err != nil {
			return fr, p, fmt.Errorf("check samples: %w", err)
		}
		fr.Count, fr.Missing = int64(len(cs)), cur.Rows-int64(len(cs))
		if len(cs) > 0 && len(rs) > 0 {
			st, err = categoricalSampleStats(rs, cs)
		}
	}
	if err != nil {
		return fr, p, fmt.Errorf("check samples: feature %q: %w", f.Name, err)
	}
	if p.Numeric != nil {
		p.Numeric.FineEdges, p.Numeric.FineHist, p.Numeric.FineSum = nil, nil, nil // not part of the id
	}
	if fr.Count == 0 || p.Count == 0 {
		return fr.insufficient(policy), p, nil
	}
	return fr.decide(st, policy), p, nil
}

func (r *Report) summarize() {
	for _, f := range r.Features {
		if f.Verdict == VerdictInsufficient {
			continue
		}
		r.Evaluated++
		if f.Drifted {
			r.Drifted++
		}
	}
	if r.Evaluated > 0 {
		r.DriftShare = float64(r.Drifted) / float64(r.Evaluated)
		r.DatasetDrift = r.DriftShare >= r.Policy.DriftShare
	}
}

func (fr FeatureResult) insufficient(policy Policy) FeatureResult {
	fr.Verdict = VerdictInsufficient
	fr.Method = ""
	fr.Stats = map[string]float64{}
	return fr
}

// decide picks the method and applies its threshold.
func (fr FeatureResult) decide(st Stats, policy Policy) FeatureResult {
	fr.Stats = st.asMap(fr.Kind)
	for i, l := range st.Labels {
		fr.Bins = append(fr.Bins, BinShare{Label: l, Ref: st.Ref[i], Current: st.Current[i]})
	}
	m := policy.NumericMethod
	if fr.Kind == Categorical {
		m = policy.CategoricalMethod
	}
	large := fr.Count > policy.LargeCount
	if m == "" {
		switch {
		case fr.Kind == Numeric && !large && st.KSPValue != nil:
			m = KS
		case fr.Kind == Numeric:
			m = WassersteinM
		case !large && st.ChiSquarePValue != nil:
			m = ChiSquareTest
		default:
			m = JensenShannonMethod
		}
	}
	// A method that does not apply to the kind falls back to Jensen-Shannon,
	// which both kinds have; KS without a p-value to Wasserstein.
	switch {
	case m == KS && st.KSPValue == nil:
		m = WassersteinM // the exact p-value is out of reach
	case fr.Kind == Numeric && (m == ChiSquareTest || m == LInf),
		fr.Kind == Categorical && (m == KS || m == WassersteinM || m == PSIM):
		m = JensenShannonMethod
	}
	fr.Method = m
	switch m {
	case KS:
		fr.Statistic, fr.PValue, fr.Threshold = st.KS, st.KSPValue, policy.PValue
	case ChiSquareTest:
		fr.Statistic, fr.PValue, fr.Threshold = st.ChiSquare, st.ChiSquarePValue, policy.PValue
	case WassersteinM:
		fr.Statistic, fr.Threshold = st.WassersteinNorm, policy.WassersteinNorm
	case PSIM:
		fr.Statistic, fr.Threshold = st.PSI, policy.PSI
	case LInf:
		fr.Statistic, fr.Threshold = st.LInfinity, policy.LInfinity
	default:
		fr.Statistic, fr.Threshold = st.JensenShannon, policy.JensenShannon
	}
	if !finite(fr.Statistic) { // e.g. a Wasserstein distance overflowing on huge values
		fr.Statistic = math.MaxFloat64
	}
	switch {
	case fr.Count < policy.MinCount:
		fr.Verdict = VerdictInsufficient
	case fr.PValue != nil:
		fr.Drifted = *fr.PValue < fr.Threshold
	default:
		fr.Drifted = fr.Statistic > fr.Threshold
	}
	if fr.Verdict == "" {
		fr.Verdict = VerdictNoDrift
		if fr.Drifted {
			fr.Verdict = VerdictDrift
		}
	}
	return fr
}

func (st Stats) asMap(k Kind) map[string]float64 {
	m := map[string]float64{"jensenshannon": st.JensenShannon}
	if k == Numeric {
		m["psi"] = st.PSI
		m["wasserstein_norm"] = st.WassersteinNorm
		m["ks"] = st.KS
		if st.KSPValue != nil {
			m["ks_p_value"] = *st.KSPValue
		}
		if st.KSBound > 0 {
			m["ks_bound"] = st.KSBound
		}
		if st.WassersteinBound > 0 {
			m["wasserstein_bound"] = st.WassersteinBound
		}
	} else {
		m["chisquare"] = st.ChiSquare
		if st.ChiSquarePValue != nil {
			m["chisquare_p_value"] = *st.ChiSquarePValue
		}
		m["linf"] = st.LInfinity
	}
	for k, v := range m {
		if !finite(v) {
			delete(m, k)
		}
	}
	return m
}

func pvalue(p float64) *float64 {
	if math.IsNaN(p) {
		return nil
	}
	return &p
}

// numericSampleStats computes every numeric statistic from sorted samples.
func numericSampleStats(ref, cur []float64, p *Profile, wantP bool) (Stats, error) {
	var st Stats
	n := p.Numeric
	rc, cc := floats(n.Hist), floats(countsSorted(cur, n.Edges))
	if err := st.binStats(rc, cc); err != nil {
		return st, err
	}
	st.Labels = binLabels(n.Edges)
	// One merged walk gives both KS and Wasserstein (scipy's values, as
	// KS2Samp and Wasserstein compute them from the same walk).
	maxS, minD, w := mergeSorted(ref, cur)
	st.WassersteinNorm = w / wassersteinScale(n.Std)
	ks := ksFromWalk(len(ref), len(cur), maxS, minD, wantP)
	st.KS, st.KSPValue = ks.Statistic, pvalue(ks.PValue)
	return st, nil
}

// wassersteinScale is the reference std, floored at 0.001 as Evidently does.
func wassersteinScale(std float64) float64 { return math.Max(std, 0.001) }

func (st *Stats) binStats(rc, cc []float64) error {
	var err error
	if st.PSI, err = PSI(rc, cc); err != nil {
		return err
	}
	if st.JensenShannon, err = JensenShannon(rc, cc); err != nil {
		return err
	}
	st.Ref, st.Current = shares(rc), shares(cc)
	return nil
}

func shares(c []float64) []float64 {
	s := sumF(c)
	out := make([]float64, len(c))
	for i, x := range c {
		out[i] = x / s
	}
	return out
}

func binLabels(edges []float64) []string {
	if len(edges) == 0 {
		return []string{"all"}
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
	out := []string{"≤" + f(edges[0])}
	for i := 1; i < len(edges); i++ {
		out = append(out, f(edges[i-1])+"–"+f(edges[i]))
	}
	return append(out, ">"+f(edges[len(edges)-1]))
}

// numericProfileStats computes the numeric statistics from the reference
// profile and a window column. PSI and Jensen-Shannon are exact (the coarse
// counts are exact). KS is evaluated at every fine edge, where both empirical
// CDFs are known exactly, so it is a lower bound of the true statistic,
// short of it by at most the largest share either sample has in one fine bin
// (KSBound). Wasserstein places each fine bin's mass at its mean (from the
// bin sums); by the triangle inequality the error is at most the sum over
// both samples and bins of share * E|x - bin mean|, bounded for values in
// [a,b] with mean mu by 2(mu-a)(b-mu)/(b-a) (WassersteinBound).
func numericProfileStats(p *Profile, c *Column, wantP bool) (Stats, error) {
	var st Stats
	n := p.Numeric
	if len(c.Bins) != len(n.FineHist) {
		return st, fmt.Errorf("%w: window bins do not match the reference", ErrMismatch)
	}
	m := n.coarseOf()
	cc := make([]float64, len(n.Hist))
	for i, k := range c.Bins {
		cc[m[i]] += float64(k)
	}
	if err := st.binStats(floats(n.Hist), cc); err != nil {
		return st, err
	}
	st.Labels = binLabels(n.Edges)

	d, upper := ksFromBins(n.FineEdges, n.FineHist, n.FineSum, c.Bins, c.Sums)
	ks := KSResult{Statistic: d, PValue: math.NaN()}
	if wantP {
		ks = ksExact(p.Count, c.Count, d)
	}
	st.KS, st.KSPValue, st.KSBound = ks.Statistic, pvalue(ks.PValue), upper-d

	ra, ea := atoms(n.FineEdges, n.FineHist, n.FineSum, n.Min, n.Max)
	wa, ew := atoms(n.FineEdges, c.Bins, c.Sums, c.Min, c.Max)
	w := atomWasserstein(ra, wa)
	scale := wassersteinScale(n.Std)
	st.WassersteinNorm = w / scale
	st.WassersteinBound = (ea + ew) / scale
	return st, nil
}

// ksFromBins returns the KS statistic at the bin edges, d, and an upper
// bound of the true statistic. Inside bin j, each empirical CDF rises from its
// value at the left edge by at most the bin's interior mass, which is zero
// when the bin's values all sit on its right edge (their mean equals the
// edge, as for discrete features whose values are the edges) and the bin's
// whole share otherwise; so |F1-F2| inside the bin is at most
// max(|d_left + q1|, |d_left - q2|).
func ksFromBins(edges []float64, h1 []int64, s1 []float64, h2 []int64, s2 []float64) (d, upper float64) {
	var n1, n2 float64
	for i := range h1 {
		n1 += float64(h1[i])
		n2 += float64(h2[i])
	}
	interior := func(k int64, sum float64, i int) float64 {
		if k == 0 || (i < len(edges) && sum/float64(k) == edges[i]) {
			return 0
		}
		return float64(k)
	}
	var c1, c2 int64
	for i := range h1 {
		left := float64(c1)/n1 - float64(c2)/n2
		q1, q2 := interior(h1[i], s1[i], i)/n1, interior(h2[i], s2[i], i)/n2
		upper = math.Max(upper, math.Max(math.Abs(left+q1), math.Abs(left-q2)))
		c1 += h1[i]
		c2 += h2[i]
		d = math.Max(d, math.Abs(float64(c1)/n1-float64(c2)/n2))
	}
	return d, math.Max(upper, d)
}

type atom struct{ x, p float64 }

// atoms places each bin's mass at its mean and returns the atoms in order
// and the bound on E|x - atom| summed over bins.
func atoms(edges []float64, counts []int64, sums []float64, lo, hi float64) ([]atom, float64) {
	var total float64
	for _, k := range counts {
		total += float64(k)
	}
	var out []atom
	var bound float64
	for i, k := range counts {
		if k == 0 {
			continue
		}
		a, b := lo, hi
		if i > 0 {
			a = math.Max(a, edges[i-1])
		}
		if i < len(edges) {
			b = math.Min(b, edges[i])
		}
		mu := sums[i] / float64(k)
		mu = math.Min(math.Max(mu, a), b) // guard rounding
		p := float64(k) / total
		out = append(out, atom{mu, p})
		if b > a {
			bound += p * 2 * (mu - a) * (b - mu) / (b - a)
		}
	}
	return out, bound
}

// atomWasserstein is the 1-Wasserstein distance of two sorted discrete
// distributions.
func atomWasserstein(a, b []atom) float64 {
	var fa, fb, sum float64
	i, j := 0, 0
	var prev float64
	first := true
	for i < len(a) || j < len(b) {
		var x float64
		switch {
		case i == len(a):
			x = b[j].x
		case j == len(b):
			x = a[i].x
		default:
			x = math.Min(a[i].x, b[j].x)
		}
		if !first {
			sum += math.Abs(fa-fb) * (x - prev)
		}
		first = false
		for i < len(a) && a[i].x <= x {
			fa += a[i].p
			i++
		}
		for j < len(b) && b[j].x <= x {
			fb += b[j].p
			j++
		}
		prev = x
	}
	return sum
}

// categoricalSampleStats computes the categorical statistics from raw values
// over the sorted union of their categories.
func categoricalSampleStats(ref, cur []string) (Stats, error) {
	rc, cc := map[string]float64{}, map[string]float64{}
	for _, s := range ref {
		rc[s]++
	}
	for _, s := range cur {
		cc[s]++
	}
	var cats []string
	for s := range rc {
		cats = append(cats, s)
	}
	for s := range cc {
		if _, ok := rc[s]; !ok {
			cats = append(cats, s)
		}
	}
	sort.Strings(cats)
	r, c := make([]float64, len(cats)), make([]float64, len(cats))
	for i, s := range cats {
		r[i], c[i] = rc[s], cc[s]
	}
	return categoricalStats(cats, r, c)
}

func categoricalProfileStats(p *Profile, c *Column) (Stats, error) {
	cp := p.Categorical
	if len(c.Bins) != len(cp.Values)+1 {
		return Stats{}, fmt.Errorf("%w: window categories do not match the reference", ErrMismatch)
	}
	labels := append(slices.Clone(cp.Values), OtherCategory)
	r := append(floats(cp.Counts), float64(cp.Other))
	return categoricalStats(labels, r, floats(c.Bins))
}

func categoricalStats(labels []string, r, c []float64) (Stats, error) {
	var st Stats
	chi, err := ChiSquare(r, c)
	if err != nil {
		return st, err
	}
	st.ChiSquare, st.ChiSquarePValue = chi.Statistic, pvalue(chi.PValue)
	if st.JensenShannon, err = JensenShannon(r, c); err != nil {
		return st, err
	}
	if st.LInfinity, err = LInfinity(r, c); err != nil {
		return st, err
	}
	// Keep the categories that occur, for charts.
	rs, cs := shares(r), shares(c)
	for i, l := range labels {
		if r[i] > 0 || c[i] > 0 {
			st.Labels = append(st.Labels, l)
			st.Ref = append(st.Ref, rs[i])
			st.Current = append(st.Current, cs[i])
		}
	}
	return st, nil
}

// floats converts counts to float64.
func floats(xs []int64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}
