package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gradCase builds a small random network and data for one task.
func gradCase(t *testing.T, task Task) (*Model, [][]float64, []float64, [][]float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	const inputs, n = 5, 7
	classes := 4
	if task == Binary {
		classes = 2
	}
	norm := Normalization{Mean: make([]float64, inputs), Std: make([]float64, inputs)}
	for j := range norm.Std {
		norm.Std[j] = 1
	}
	m := newModel(task, inputs, classes, []int{6, 4}, norm, rng)
	for _, l := range m.Layers { // nonzero biases so every path is exercised
		for k := range l.B {
			l.B[k] = rng.NormFloat64() * 0.3
		}
	}
	x := make([][]float64, n)
	y := make([]float64, n)
	teacher := make([][]float64, n)
	for i := range x {
		x[i] = make([]float64, inputs)
		for j := range x[i] {
			x[i][j] = rng.NormFloat64()
		}
		teacher[i] = make([]float64, m.Outputs())
		for j := range teacher[i] {
			teacher[i][j] = 2 * rng.NormFloat64()
		}
		switch task {
		case Multiclass:
			y[i] = float64(rng.IntN(classes))
		case Binary:
			y[i] = float64(rng.IntN(2))
		default:
			y[i] = rng.NormFloat64()
		}
	}
	return m, x, y, teacher
}

// TestGradientCheck compares backpropagation with central finite differences
// of the mean loss, for every head and for the distillation loss.
func TestGradientCheck(t *testing.T) {
	for _, task := range []Task{Multiclass, Binary, Regression} {
		for _, kind := range []string{"hard", "distill"} {
			t.Run(string(task)+"/"+kind, func(t *testing.T) {
				m, x, y, teacher := gradCase(t, task)
				var obj objective = &hardLoss{task: task, y: y}
				if kind == "distill" {
					obj = newDistillLoss(task, y, teacher, 3, 0.6)
				}
				g := newGrads(m)
				s, d := m.newScratch(), m.newDeltas()
				for i, z := range x {
					m.backprop(s, z, i, obj, g, d)
				}
				const h = 1e-6
				checked := 0
				for li := range m.Layers {
					for _, p := range []struct {
						name string
						v, g []float64
					}{{"W", m.Layers[li].W, g.w[li]}, {"B", m.Layers[li].B, g.b[li]}} {
						for k := range p.v {
							orig := p.v[k]
							p.v[k] = orig + h
							up := m.meanLoss(x, obj)
							p.v[k] = orig - h
							down := m.meanLoss(x, obj)
							p.v[k] = orig
							num := (up - down) / (2 * h)
							got := p.g[k] / float64(len(x))
							if diff := math.Abs(num - got); diff > 1e-7+1e-5*math.Abs(num) {
								t.Errorf("layer %d %s[%d]: backprop %.10g, finite difference %.10g", li, p.name, k, got, num)
							}
							checked++
						}
					}
				}
				if checked != m.ParamCount() {
					t.Fatalf("checked %d of %d parameters", checked, m.ParamCount())
				}
			})
		}
	}
}

// TestDistillLossValue checks the distillation loss against the formula
// written out directly with probabilities.
func TestDistillLossValue(t *testing.T) {
	const T, a = 4.0, 0.7
	s := []float64{1.5, -0.3, 0.2}
	tl := []float64{3.0, 0.5, -1.0}
	y := 2.0
	probs := func(z []float64, T float64) []float64 {
		e := make([]float64, len(z))
		sum := 0.0
		for i, v := range z {
			e[i] = math.Exp(v / T)
			sum += e[i]
		}
		for i := range e {
			e[i] /= sum
		}
		return e
	}
	pt, ps, p1 := probs(tl, T), probs(s, T), probs(s, 1)
	kl := 0.0
	for i := range pt {
		kl += pt[i] * math.Log(pt[i]/ps[i])
	}
	want := a*T*T*kl + (1-a)*(-math.Log(p1[int(y)]))
	got := newDistillLoss(Multiclass, []float64{y}, [][]float64{tl}, T, a).loss(0, s, nil)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("multiclass: got %.15g, want %.15g", got, want)
	}

	// Binary: two-class distributions from the sigmoid.
	sb, tb := []float64{0.8}, []float64{-1.2}
	q, p := 1/(1+math.Exp(-sb[0]/T)), 1/(1+math.Exp(-tb[0]/T))
	klb := p*math.Log(p/q) + (1-p)*math.Log((1-p)/(1-q))
	q1 := 1 / (1 + math.Exp(-sb[0]))
	want = a*T*T*klb + (1-a)*(-math.Log(q1)) // label 1
	got = newDistillLoss(Binary, []float64{1}, [][]float64{tb}, T, a).loss(0, sb, nil)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("binary: got %.15g, want %.15g", got, want)
	}

	want = a*(0.8+1.2)*(0.8+1.2) + (1-a)*(0.8-0.5)*(0.8-0.5)
	got = newDistillLoss(Regression, []float64{0.5}, [][]float64{tb}, T, a).loss(0, sb, nil)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("regression: got %.15g, want %.15g", got, want)
	}
}
