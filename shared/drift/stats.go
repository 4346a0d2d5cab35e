package drift

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// PSIEpsilon replaces an empty bin's proportion in the population stability
// index, so that the logarithm stays finite: 1e-4, as Evidently does.
const PSIEpsilon = 1e-4

// KSResult is a two-sample Kolmogorov-Smirnov test result.
type KSResult struct {
	// Statistic is sup |F1 - F2|. When the p-value is computed it is, as in
	// scipy, the statistic rounded to the lattice h/lcm(n1, n2).
	Statistic float64
	// PValue is scipy.stats.ks_2samp(method="exact", alternative="two-sided")
	// or NaN when the exact computation is out of reach (see KSExactLimit).
	PValue float64
}

// KSExactLimit bounds the work of the exact KS p-value: about
// max(n1,n2) * (2*D*min(n1,n2)+2) steps for unequal sizes. Above it the
// p-value is NaN (unknown); verdicts on such large samples use distances.
const KSExactLimit = 5e7

// KS2Samp is scipy.stats.ks_2samp(a, b, method="exact") on sorted samples:
// the statistic from the empirical CDFs at every observed value, and the
// exact two-sided p-value by Hodges' lattice-path counting (scipy's
// _compute_prob_outside_square when n1 == n2, and the Viehmann 1-p recursion
// of _compute_outer_prob_inside_method otherwise).
func KS2Samp(a, b []float64) (KSResult, error) { return ks2samp(a, b, true) }

func ks2samp(a, b []float64, wantP bool) (KSResult, error) {
	if len(a) == 0 || len(b) == 0 {
		return KSResult{}, fmt.Errorf("ks two-sample: %w", ErrEmpty)
	}
	maxS, minD, _ := mergeSorted(a, b)
	return ksFromWalk(len(a), len(b), maxS, minD, wantP), nil
}

// ksFromWalk turns mergeSorted's extremes into the two-sided statistic, as
// scipy does, and the exact p-value when wantP.
func ksFromWalk(n1, n2 int, maxS, minD float64, wantP bool) KSResult {
	minS := math.Min(math.Max(-minD, 0), 1)
	d := maxS
	if minS > maxS {
		d = minS
	}
	if !wantP {
		return KSResult{Statistic: d, PValue: math.NaN()}
	}
	return ksExact(int64(n1), int64(n2), d)
}

// ksExact returns the exact two-sided p-value for statistic d with sample
// sizes n1, n2, as scipy's _attempt_exact_2kssamp.
func ksExact(n1, n2 int64, d float64) KSResult {
	g := gcd(n1, n2)
	n1g, n2g := n1/g, n2/g
	if float64(n1g) >= float64(math.MaxInt32)/float64(n2g) {
		return KSResult{Statistic: d, PValue: math.NaN()}
	}
	lcm := n1g * n2
	h := int64(math.RoundToEven(d * float64(lcm)))
	d = float64(h) * 1.0 / float64(lcm)
	if h == 0 {
		return KSResult{Statistic: d, PValue: 1}
	}
	var p float64
	if n1 == n2 {
		if float64(n1) > KSExactLimit {
			return KSResult{Statistic: d, PValue: math.NaN()}
		}
		p = probOutsideSquare(n1, h)
	} else {
		m, n := max(n1, n2), min(n1, n2)
		if float64(m)*(2*d*float64(n)+2) > KSExactLimit {
			return KSResult{Statistic: d, PValue: math.NaN()}
		}
		p = outerProbInside(n1, n2, g, h)
	}
	if !(p >= 0 && p <= 1) {
		return KSResult{Statistic: d, PValue: math.NaN()}
	}
	return KSResult{Statistic: d, PValue: p}
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// probOutsideSquare is the proportion of lattice paths from (0,0) to (n,n)
// that leave the band |x-y| < h.
func probOutsideSquare(n, h int64) float64 {
	var P float64
	k := n / h
	for ; k >= 0; k-- {
		p1 := 1.0
		for j := int64(0); j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		P = p1 * (1.0 - P)
	}
	return 2 * P
}

// outerProbInside is 1 - the proportion of lattice paths from (0,0) to
// (m,n) that stay strictly inside |x/m - y/n| < h/lcm(m,n), computed
// directly (Viehmann 2021) over a sliding window of one column.
func outerProbInside(m, n, g, h int64) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	minj := int64(0)
	maxj := min(int64(math.Ceil(float64(h)/float64(mg))), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1)
	A := make([]float64, lenA)
	for i := range A {
		A[i] = 1
	}
	for i := minj; i < maxj; i++ {
		A[i] = 0
	}
	for i := int64(1); i <= m; i++ {
		lastminj, lastlen := minj, curlen
		minj = max(int64(math.Floor(float64(ng*i-h)/float64(mg)))+1, 0)
		minj = min(minj, n)
		maxj = min(int64(math.Ceil(float64(ng*i+h)/float64(mg))), n+1)
		if maxj <= minj {
			return 1.0
		}
		val := 1.0
		if minj == 0 {
			val = 0
		}
		fi := float64(i)
		for jj := int64(0); jj < maxj-minj; jj++ {
			j := jj + minj
			val = (A[jj+minj-lastminj]*fi + val*float64(j)) / (fi + float64(j))
			A[jj] = val
		}
		curlen = maxj - minj
		if lastlen > curlen {
			for k := maxj - minj; k < maxj-minj+(lastlen-curlen); k++ {
				A[k] = 1
			}
		}
	}
	return A[maxj-minj-1]
}

// Wasserstein is scipy.stats.wasserstein_distance(a, b) on sorted samples:
// the integral of |F_a - F_b| over the merged values.
func Wasserstein(a, b []float64) (float64, error) {
	if len(a) == 0 || len(b) == 0 {
		return 0, fmt.Errorf("wasserstein: %w", ErrEmpty)
	}
	_, _, w := mergeSorted(a, b)
	return w, nil
}

// mergeSorted walks the merged distinct values of two non-empty sorted
// samples once. At each value v, after both empirical CDFs have stepped past
// v, it takes d = F_a(v) - F_b(v): maxS and minD are the largest and
// smallest d (both start at 0), for KS; w sums |d| * (next value - v), the
// Wasserstein integral. Both statistics share the walk, so a feature costs
// one pass over its sorted samples instead of two.
func mergeSorted(a, b []float64) (maxS, minD, w float64) {
	na, nb := float64(len(a)), float64(len(b))
	i, j := 0, 0
	v := min(a[0], b[0])
	for {
		for i < len(a) && a[i] <= v {
			i++
		}
		for j < len(b) && b[j] <= v {
			j++
		}
		d := float64(i)/na - float64(j)/nb
		maxS = max(maxS, d)
		minD = min(minD, d)
		var next float64
		switch {
		case i == len(a) && j == len(b):
			return maxS, minD, w
		case i == len(a):
			next = b[j]
		case j == len(b):
			next = a[i]
		default:
			next = min(a[i], b[j])
		}
		w += math.Abs(d) * (next - v)
		v = next
	}
}

// JensenShannon is scipy.spatial.distance.jensenshannon(p, q) with the
// default natural-log base: sqrt((KL(p||m) + KL(q||m))/2), m = (p+q)/2, after
// normalizing p and q to sum to one. Its range is [0, sqrt(ln 2)] ~ [0, 0.833].
func JensenShannon(p, q []float64) (float64, error) {
	if len(p) != len(q) || len(p) == 0 {
		return 0, fmt.Errorf("jensen-shannon: %w: lengths %d and %d", ErrSchema, len(p), len(q))
	}
	sp, sq := sumF(p), sumF(q)
	if !(sp > 0) || !(sq > 0) {
		return 0, fmt.Errorf("jensen-shannon: %w", ErrEmpty)
	}
	var left, right float64
	for i := range p {
		pi, qi := p[i]/sp, q[i]/sq
		m := (pi + qi) / 2.0
		left += relEntr(pi, m)
		right += relEntr(qi, m)
	}
	return math.Sqrt((left + right) / 2.0), nil
}

func relEntr(x, y float64) float64 {
	switch {
	case x > 0 && y > 0:
		return x * math.Log(x/y)
	case x == 0 && y >= 0:
		return 0
	}
	return math.Inf(1)
}

func sumF(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// PSI is the population stability index of counts q (actual, the window)
// against p (expected, the reference) on the same bins:
// sum (q_i - p_i) ln(q_i / p_i) over proportions, with empty bins' proportions
// replaced by PSIEpsilon.
func PSI(p, q []float64) (float64, error) {
	if len(p) != len(q) || len(p) == 0 {
		return 0, fmt.Errorf("psi: %w: lengths %d and %d", ErrSchema, len(p), len(q))
	}
	sp, sq := sumF(p), sumF(q)
	if !(sp > 0) || !(sq > 0) {
		return 0, fmt.Errorf("psi: %w", ErrEmpty)
	}
	var s float64
	for i := range p {
		pi, qi := p[i]/sp, q[i]/sq
		if pi == 0 {
			pi = PSIEpsilon
		}
		if qi == 0 {
			qi = PSIEpsilon
		}
		s += (qi - pi) * math.Log(qi/pi)
	}
	return s, nil
}

// LInfinity is max_i |p_i - q_i| over the normalized distributions, the
// distance Vertex AI Model Monitoring uses for categorical features.
func LInfinity(p, q []float64) (float64, error) {
	if len(p) != len(q) || len(p) == 0 {
		return 0, fmt.Errorf("l-infinity: %w: lengths %d and %d", ErrSchema, len(p), len(q))
	}
	sp, sq := sumF(p), sumF(q)
	if !(sp > 0) || !(sq > 0) {
		return 0, fmt.Errorf("l-infinity: %w", ErrEmpty)
	}
	var d float64
	for i := range p {
		d = math.Max(d, math.Abs(p[i]/sp-q[i]/sq))
	}
	return d, nil
}

// ChiSquareResult is a chi-square test of homogeneity.
type ChiSquareResult struct {
	Statistic float64
	PValue    float64
	DOF       int
}

// ChiSquare is scipy.stats.chi2_contingency([p, q]) with its defaults
// (Yates' continuity correction when dof == 1): the test that two samples of
// category counts come from one distribution. Categories empty in both
// samples are dropped first (scipy would reject the zero expected count).
func ChiSquare(p, q []float64) (ChiSquareResult, error) {
	if len(p) != len(q) || len(p) == 0 {
		return ChiSquareResult{}, fmt.Errorf("chi-square: %w: lengths %d and %d", ErrSchema, len(p), len(q))
	}
	var a, b []float64
	for i := range p {
		if p[i] < 0 || q[i] < 0 || !finite(p[i], q[i]) {
			return ChiSquareResult{}, fmt.Errorf("chi-square: %w: bad count", ErrSchema)
		}
		if p[i] != 0 || q[i] != 0 {
			a = append(a, p[i])
			b = append(b, q[i])
		}
	}
	ra, rb := sumF(a), sumF(b)
	if !(ra > 0) || !(rb > 0) {
		return ChiSquareResult{}, fmt.Errorf("chi-square: %w", ErrEmpty)
	}
	total := ra + rb
	dof := len(a) - 1
	if dof == 0 {
		return ChiSquareResult{Statistic: 0, PValue: 1, DOF: 0}, nil
	}
	var stat float64
	for k, obs := range [2][]float64{a, b} {
		row := ra
		if k == 1 {
			row = rb
		}
		for i, o := range obs {
			e := row * (a[i] + b[i]) / total
			if dof == 1 {
				diff := e - o
				o += math.Min(0.5, math.Abs(diff)) * sign(diff)
			}
			stat += (o - e) * (o - e) / e
		}
	}
	p0 := distuv.ChiSquared{K: float64(dof)}.Survival(stat)
	return ChiSquareResult{Statistic: stat, PValue: p0, DOF: dof}, nil
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// sortedFinite returns a sorted copy of xs without NaN and infinities.
func sortedFinite(xs []float64) []float64 {
	return sortFinite(make([]float64, 0, len(xs)), xs, nil)
}

// sortFinite appends the finite values of xs to dst, sorts them and returns
// them; dst may be xs[:0] to filter and sort xs in place.
func sortFinite(dst, xs []float64, sc *radixScratch) []float64 {
	for _, x := range xs {
		if finite(x) {
			dst = append(dst, x)
		}
	}
	sortFloatsWith(dst, sc)
	return dst
}
