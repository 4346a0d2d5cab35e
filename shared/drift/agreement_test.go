package drift

import (
	"math"
	"slices"
	"testing"
)

// On the benchmark's families (25 numeric, 5 categorical features, a third
// of them shifted) at 100,000 rows, the profile path agrees with the exact
// path: identical PSI, Jensen-Shannon, chi-square and L-infinity; KS and
// Wasserstein within their reported bounds; the same verdicts.
func TestAgreementAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000-row samples")
	}
	const n = 100_000
	ref, cur := genBench(1, n, 0), genBench(2, n, 0.3)
	schema := benchSchema()
	rb, err := NewReferenceBuilder(schema)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range schema {
		if f.Kind == Numeric {
			rb.cols[i] = colBuilder{count: n, values: slices.Clone(ref.Num[i])}
		} else {
			for _, v := range ref.Str[i] {
				rb.cols[i].cats[v]++
			}
			rb.cols[i].count = n
		}
	}
	rp, err := rb.Build()
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWindow(rp)
	if err != nil {
		t.Fatal(err)
	}
	// Fold in 20 batches merged afterwards, as collect does.
	row := make(Row, len(schema))
	var parts []*Window
	for b := range 20 {
		part, _ := NewWindow(rp)
		for i := b * n / 20; i < (b+1)*n/20; i++ {
			for j := range row {
				if cur.Num[j] != nil {
					row[j] = Num(cur.Num[j][i])
				} else {
					row[j] = Cat(cur.Str[j][i])
				}
			}
			if err := part.Add(row); err != nil {
				t.Fatal(err)
			}
		}
		parts = append(parts, part)
	}
	for _, p := range parts {
		if err := w.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	exact, err := CheckSample(schema, ref, cur, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	prof, err := Check(rp, w, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	var maxKS, maxW, maxKSBound, maxWBound float64
	for i, e := range exact.Features {
		p := prof.Features[i]
		if e.Verdict != p.Verdict {
			t.Errorf("%s: verdict %s (samples) vs %s (profile)", e.Feature, e.Verdict, p.Verdict)
		}
		for _, k := range []string{"psi", "jensenshannon", "chisquare", "linf"} {
			if ev, ok := e.Stats[k]; ok && math.Abs(ev-p.Stats[k]) > 1e-12*math.Max(1, ev) {
				t.Errorf("%s %s: %v (samples) vs %v (profile)", e.Feature, k, ev, p.Stats[k])
			}
		}
		if e.Kind != Numeric {
			continue
		}
		ks, pks, kb := e.Stats["ks"], p.Stats["ks"], p.Stats["ks_bound"]
		if pks > ks+1e-12 || ks > pks+kb+1e-12 {
			t.Errorf("%s ks: %v not in [%v, %v]", e.Feature, ks, pks, pks+kb)
		}
		ws, pw, wb := e.Stats["wasserstein_norm"], p.Stats["wasserstein_norm"], p.Stats["wasserstein_bound"]
		if math.Abs(ws-pw) > wb+1e-12 {
			t.Errorf("%s wasserstein: %v vs %v, bound %v", e.Feature, ws, pw, wb)
		}
		maxKS, maxW = math.Max(maxKS, ks-pks), math.Max(maxW, math.Abs(ws-pw))
		maxKSBound, maxWBound = math.Max(maxKSBound, kb), math.Max(maxWBound, wb)
	}
	t.Logf("profile vs samples over %d rows x %d features: max KS gap %.2e (bound %.2e), max normalized Wasserstein gap %.2e (bound %.2e); drifted %d vs %d",
		n, len(schema), maxKS, maxKSBound, maxW, maxWBound, exact.Drifted, prof.Drifted)
}
