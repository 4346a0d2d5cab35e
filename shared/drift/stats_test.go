package drift

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Golden values come from scipy and numpy (testdata/golden.py, whose output
// testdata/golden.json records the versions). Agreement is required to 1e-9,
// relative for values above 1 and absolute below: |got-want| <= 1e-9*max(1,|want|).
const goldenTol = 1e-9

type goldenNumeric struct {
	Name            string    `json:"name"`
	Ref             []float64 `json:"ref"`
	Cur             []float64 `json:"cur"`
	Mean            float64   `json:"mean"`
	Std             float64   `json:"std"`
	Min             float64   `json:"min"`
	Max             float64   `json:"max"`
	Edges           []float64 `json:"edges"`
	RefHist         []int64   `json:"ref_hist"`
	CurHist         []int64   `json:"cur_hist"`
	PSI             float64   `json:"psi"`
	JensenShannon   float64   `json:"jensenshannon"`
	Wasserstein     float64   `json:"wasserstein"`
	WassersteinNorm float64   `json:"wasserstein_norm"`
	KSStatistic     float64   `json:"ks_statistic"`
	KSPValue        float64   `json:"ks_pvalue"`
}

type goldenCategorical struct {
	Name          string    `json:"name"`
	Ref           []string  `json:"ref"`
	Cur           []string  `json:"cur"`
	Categories    []string  `json:"categories"`
	RefCounts     []float64 `json:"ref_counts"`
	CurCounts     []float64 `json:"cur_counts"`
	Chi2          float64   `json:"chi2"`
	Chi2PValue    float64   `json:"chi2_pvalue"`
	Chi2DOF       int       `json:"chi2_dof"`
	JensenShannon float64   `json:"jensenshannon"`
	LInf          float64   `json:"linf"`
}

type golden struct {
	Versions    map[string]string   `json:"versions"`
	Numeric     []goldenNumeric     `json:"numeric"`
	Categorical []goldenCategorical `json:"categorical"`
}

func loadGolden(t testing.TB) golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Numeric) == 0 || len(g.Categorical) == 0 {
		t.Fatal("golden.json has no cases")
	}
	return g
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > goldenTol*math.Max(1, math.Abs(want)) || math.IsNaN(got) != math.IsNaN(want) {
		t.Errorf("%s = %.17g, want %.17g (scipy/numpy), diff %.3g", what, got, want, got-want)
	}
}

func TestGoldenNumeric(t *testing.T) {
	g := loadGolden(t)
	t.Logf("golden from %v", g.Versions)
	for _, c := range g.Numeric {
		t.Run(c.Name, func(t *testing.T) {
			ref, cur := sortedFinite(c.Ref), sortedFinite(c.Cur)
			// Reference profile: moments and the decile edges.
			p, err := BuildProfile(Feature{Name: "x", Kind: Numeric}, values(c.Ref))
			if err != nil {
				t.Fatal(err)
			}
			near(t, "mean", p.Numeric.Mean, c.Mean)
			near(t, "std", p.Numeric.Std, c.Std)
			near(t, "min", p.Numeric.Min, c.Min)
			near(t, "max", p.Numeric.Max, c.Max)
			if diff := cmp.Diff(c.Edges, p.Numeric.Edges); diff != "" {
				t.Errorf("edges (-numpy +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.RefHist, p.Numeric.Hist); diff != "" {
				t.Errorf("reference histogram (-numpy +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.CurHist, histogram(cur, p.Numeric.Edges)); diff != "" {
				t.Errorf("current histogram (-numpy +got):\n%s", diff)
			}
			psi, err := PSI(floats(c.RefHist), floats(c.CurHist))
			if err != nil {
				t.Fatal(err)
			}
			near(t, "psi", psi, c.PSI)
			js, err := JensenShannon(floats(c.RefHist), floats(c.CurHist))
			if err != nil {
				t.Fatal(err)
			}
			near(t, "jensenshannon", js, c.JensenShannon)
			w, err := Wasserstein(ref, cur)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "wasserstein", w, c.Wasserstein)
			ks, err := KS2Samp(ref, cur)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "ks statistic", ks.Statistic, c.KSStatistic)
			near(t, "ks p-value", ks.PValue, c.KSPValue)

			// The exact path of a whole check gives the same numbers.
			st, err := numericSampleStats(ref, cur, p, true)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "check psi", st.PSI, c.PSI)
			near(t, "check jensenshannon", st.JensenShannon, c.JensenShannon)
			near(t, "check wasserstein_norm", st.WassersteinNorm, c.WassersteinNorm)
			near(t, "check ks", st.KS, c.KSStatistic)
			near(t, "check ks p-value", *st.KSPValue, c.KSPValue)
		})
	}
}

func TestGoldenCategorical(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Categorical {
		t.Run(c.Name, func(t *testing.T) {
			chi, err := ChiSquare(c.RefCounts, c.CurCounts)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "chi2", chi.Statistic, c.Chi2)
			near(t, "chi2 p-value", chi.PValue, c.Chi2PValue)
			if chi.DOF != c.Chi2DOF {
				t.Errorf("dof = %d, want %d", chi.DOF, c.Chi2DOF)
			}
			js, err := JensenShannon(c.RefCounts, c.CurCounts)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "jensenshannon", js, c.JensenShannon)
			li, err := LInfinity(c.RefCounts, c.CurCounts)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "linf", li, c.LInf)

			// The exact path from raw values counts the same categories.
			st, err := categoricalSampleStats(c.Ref, c.Cur)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "check chi2", st.ChiSquare, c.Chi2)
			near(t, "check chi2 p-value", *st.ChiSquarePValue, c.Chi2PValue)
			near(t, "check jensenshannon", st.JensenShannon, c.JensenShannon)
			near(t, "check linf", st.LInfinity, c.LInf)
		})
	}
}

func values(xs []float64) []Value {
	out := make([]Value, len(xs))
	for i, x := range xs {
		out[i] = Num(x)
	}
	return out
}

func TestStatsErrors(t *testing.T) {
	if _, err := KS2Samp(nil, []float64{1}); err == nil {
		t.Error("KS2Samp on an empty sample: no error")
	}
	if _, err := Wasserstein([]float64{1}, nil); err == nil {
		t.Error("Wasserstein on an empty sample: no error")
	}
	if _, err := JensenShannon([]float64{1, 2}, []float64{1}); err == nil {
		t.Error("JensenShannon on unequal lengths: no error")
	}
	if _, err := PSI([]float64{0, 0}, []float64{1, 1}); err == nil {
		t.Error("PSI on an empty reference: no error")
	}
	if _, err := ChiSquare([]float64{1, -1}, []float64{1, 1}); err == nil {
		t.Error("ChiSquare with a negative count: no error")
	}
	if _, err := LInfinity(nil, nil); err == nil {
		t.Error("LInfinity on nothing: no error")
	}
}
