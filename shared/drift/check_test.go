package drift

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The profile path must agree with the exact path: PSI, Jensen-Shannon,
// chi-square and L-infinity exactly (same counts), KS within its reported
// bound (never above the exact value), Wasserstein within its bound.
func TestProfileAgreesWithSamples(t *testing.T) {
	cases := []struct {
		name  string
		n     int
		shift float64
	}{
		{"same", 3000, 0},
		{"small", 150, 0},
		{"mild", 5000, 0.1},
		{"shifted", 4000, 0.6},
		{"far", 1000, 4},
	}
	refRows := rows(11, 10000, 0)
	ref := buildRef(t, refRows)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cur := rows(12, c.n, c.shift)
			exact, err := CheckSamples(testSchema, refRows, cur, DefaultPolicy())
			if err != nil {
				t.Fatal(err)
			}
			prof, err := Check(ref, fold(t, ref, cur), DefaultPolicy())
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range exact.Features {
				p := prof.Features[i]
				if e.Count != p.Count || e.Missing != p.Missing {
					t.Errorf("%s: counts %d/%d vs %d/%d", e.Feature, e.Count, e.Missing, p.Count, p.Missing)
				}
				same := []string{"psi", "jensenshannon", "chisquare", "chisquare_p_value", "linf"}
				if e.Kind == Categorical && c.shift > 0 {
					same = nil // the window has a value the reference never saw: profiles fold it into __other__, samples do not
				}
				for _, k := range same {
					ev, eok := e.Stats[k]
					pv, pok := p.Stats[k]
					if eok != pok || math.Abs(ev-pv) > 1e-12*math.Max(1, math.Abs(ev)) {
						t.Errorf("%s %s: samples %v, profile %v", e.Feature, k, ev, pv)
					}
				}
				if e.Kind != Numeric {
					continue
				}
				ks, pks, bound := e.Stats["ks"], p.Stats["ks"], p.Stats["ks_bound"]
				if pks > ks+1e-12 || ks > pks+bound+1e-12 {
					t.Errorf("%s ks: samples %v, profile %v + bound %v", e.Feature, ks, pks, bound)
				}
				w, pw, wb := e.Stats["wasserstein_norm"], p.Stats["wasserstein_norm"], p.Stats["wasserstein_bound"]
				if math.Abs(w-pw) > wb+1e-12 {
					t.Errorf("%s wasserstein: samples %v, profile %v, bound %v", e.Feature, w, pw, wb)
				}
				if c.shift == 0 && c.n >= 1000 && (bound > 0.01 || wb > 0.02) {
					t.Errorf("%s: bounds too loose for an undrifted window: ks %v, wasserstein %v", e.Feature, bound, wb)
				}
				t.Logf("%s: ks %.5f vs %.5f (bound %.4f), wasserstein %.5f vs %.5f (bound %.4f)", e.Feature, ks, pks, bound, w, pw, wb)
			}
			if exact.DatasetDrift != prof.DatasetDrift {
				t.Errorf("dataset drift: samples %v, profile %v", exact.DatasetDrift, prof.DatasetDrift)
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	refRows := rows(21, 20000, 0)
	ref := buildRef(t, refRows)
	type col struct {
		Method  Method
		Verdict string
	}
	cases := []struct {
		name         string
		n            int
		shift        float64
		want         []col
		datasetDrift bool
	}{
		{"too few rows", 80, 2, []col{{KS, VerdictInsufficient}, {KS, VerdictInsufficient}, {KS, VerdictInsufficient}, {ChiSquareTest, VerdictInsufficient}}, false},
		{"small same", 600, 0, []col{{KS, VerdictNoDrift}, {KS, VerdictNoDrift}, {KS, VerdictNoDrift}, {ChiSquareTest, VerdictNoDrift}}, false},
		{"small shifted", 600, 0.5, []col{{KS, VerdictDrift}, {KS, VerdictDrift}, {KS, VerdictDrift}, {ChiSquareTest, VerdictDrift}}, true},
		{"large same", 50000, 0, []col{{WassersteinM, VerdictNoDrift}, {WassersteinM, VerdictNoDrift}, {WassersteinM, VerdictNoDrift}, {JensenShannonMethod, VerdictNoDrift}}, false},
		// A tiny shift on a large window: p-values would flag it, distances do not.
		{"large tiny shift", 50000, 0.05, []col{{WassersteinM, VerdictNoDrift}, {WassersteinM, VerdictNoDrift}, {WassersteinM, VerdictNoDrift}, {JensenShannonMethod, VerdictNoDrift}}, false},
		{"large shifted", 50000, 0.5, []col{{WassersteinM, VerdictDrift}, {WassersteinM, VerdictDrift}, {WassersteinM, VerdictDrift}, {JensenShannonMethod, VerdictDrift}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Check(ref, fold(t, ref, rows(22, c.n, c.shift)), DefaultPolicy())
			if err != nil {
				t.Fatal(err)
			}
			var got []col
			for _, f := range r.Features {
				got = append(got, col{f.Method, f.Verdict})
			}
			if c.n < 100 {
				for i := range got {
					got[i].Method = c.want[i].Method // no method without a verdict
				}
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			if r.DatasetDrift != c.datasetDrift {
				t.Errorf("dataset drift = %v (share %v), want %v", r.DatasetDrift, r.DriftShare, c.datasetDrift)
			}
		})
	}
	// KS p-values, forced on the same large window, flag the tiny shift: the
	// reason distances decide above LargeCount.
	ks := DefaultPolicy()
	ks.NumericMethod = KS
	r, err := Check(ref, fold(t, ref, rows(22, 50000, 0.05)), ks)
	if err != nil {
		t.Fatal(err)
	}
	if f := r.Features[0]; f.Method != KS || !f.Drifted {
		t.Errorf("forced KS on a 0.05 shift of 50000 rows: %s drifted=%v p=%v", f.Method, f.Drifted, f.PValue)
	}
}

func TestPredictionDriftAndPolicies(t *testing.T) {
	ref := buildRef(t, rows(31, 5000, 0))
	var preds []Value
	for i := range 5000 {
		preds = append(preds, Cat([]string{"a", "b", "c"}[i%3]))
	}
	p, err := BuildProfile(Feature{Name: PredictionName, Kind: Categorical}, preds)
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.SetPrediction(p); err != nil {
		t.Fatal(err)
	}
	w := fold(t, ref, rows(32, 2000, 0))
	for i := range 2000 {
		c := "a"
		if i%4 == 0 {
			c = "b"
		}
		if err := w.AddPrediction(Cat(c)); err != nil {
			t.Fatal(err)
		}
	}
	for _, pol := range []Policy{DefaultPolicy(), VertexPolicy()} {
		r, err := Check(ref, w, pol)
		if err != nil {
			t.Fatal(err)
		}
		if r.Prediction == nil || !r.Prediction.Drifted {
			t.Errorf("policy %+v: prediction drift not flagged: %+v", pol, r.Prediction)
		}
		if r.DatasetDrift {
			t.Errorf("features drawn from the reference: dataset drift flagged (share %v)", r.DriftShare)
		}
	}
	vr, _ := Check(ref, w, VertexPolicy())
	if vr.Features[0].Method != JensenShannonMethod || vr.Features[3].Method != LInf || vr.Features[0].Threshold != 0.3 {
		t.Errorf("vertex policy methods: %s %s %v", vr.Features[0].Method, vr.Features[3].Method, vr.Features[0].Threshold)
	}
	psi := DefaultPolicy()
	psi.NumericMethod = PSIM
	pr, _ := Check(ref, w, psi)
	if pr.Features[0].Method != PSIM || pr.Features[0].Threshold != 0.2 {
		t.Errorf("forced psi: %+v", pr.Features[0])
	}
	bad := DefaultPolicy()
	bad.NumericMethod = "magic"
	if _, err := Check(ref, w, bad); err == nil {
		t.Error("unknown method: no error")
	}
}

func TestWriteHTML(t *testing.T) {
	schema := []Feature{{Name: "x<script>", Kind: Numeric}, {Name: "c", Kind: Categorical}}
	var ref, cur []Row
	for i := range 500 {
		ref = append(ref, Row{Num(float64(i % 50)), Cat([]string{"u", "v"}[i%2])})
		cur = append(cur, Row{Num(float64(i%50) + 20), Cat("u")})
	}
	r, err := CheckSamples(schema, ref, cur, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"<svg", "x&lt;script&gt;", "Dataset drifted", `class="drift"`, "<rect"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "src="} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	var txt strings.Builder
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(txt.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[1], "x<script>") || !strings.Contains(lines[1], "drift") ||
		!strings.HasPrefix(lines[4], "DATASET DRIFT: 2 of 2") {
		t.Errorf("text report:\n%s", txt.String())
	}
}

// A regression model's output is a numeric prediction profile.
func TestNumericPredictionDrift(t *testing.T) {
	ref := buildRef(t, rows(81, 3000, 0))
	var train []Value
	for i := range 3000 {
		train = append(train, Num(float64(i%100)))
	}
	p, err := BuildProfile(Feature{Name: PredictionName, Kind: Numeric}, train)
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.SetPrediction(p); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		offset float64
		drift  bool
	}{{0, false}, {30, true}} {
		w := fold(t, ref, rows(82, 500, 0))
		for i := range 500 {
			if err := w.AddPrediction(Num(float64(i%100) + c.offset)); err != nil {
				t.Fatal(err)
			}
		}
		r, err := Check(ref, w, DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		if r.Prediction.Method != KS || r.Prediction.Drifted != c.drift {
			t.Errorf("offset %v: prediction %s drifted=%v, want KS drifted=%v", c.offset, r.Prediction.Method, r.Prediction.Drifted, c.drift)
		}
	}
}
