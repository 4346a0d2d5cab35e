package nn

import "math"

// objective is a per-sample loss over the raw network outputs. loss returns
// the loss of sample i and, when grad is not nil, writes dloss/dout into it.
// The training loss of a batch is the mean over its samples.
type objective interface {
	loss(i int, out, grad []float64) float64
}

// hardLoss is the task loss on true labels: cross-entropy of softmax
// (multiclass), binary cross-entropy of sigmoid (binary), squared error on the
// standardized target (regression).
type hardLoss struct {
	task Task
	y    []float64 // class index, 0/1, or standardized target
	buf  []float64
}

func (h *hardLoss) loss(i int, out, grad []float64) float64 {
	y := h.y[i]
	switch h.task {
	case Multiclass:
		c := int(y)
		if cap(h.buf) < len(out) {
			h.buf = make([]float64, len(out))
		}
		p := h.buf[:len(out)]
		softmax(p, out, 1)
		if grad != nil {
			for k := range out {
				grad[k] = p[k]
			}
			grad[c]--
		}
		return logSumExp(out) - out[c]
	case Binary:
		z := out[0]
		if grad != nil {
			grad[0] = sigmoid(z) - y
		}
		return -(y*logSigmoid(z) + (1-y)*logSigmoid(-z))
	default: // Regression
		d := out[0] - y
		if grad != nil {
			grad[0] = 2 * d
		}
		return d * d
	}
}

// distillLoss is the knowledge-distillation loss of Hinton, Vinyals and Dean,
// "Distilling the Knowledge in a Neural Network" (2015):
//
//	multiclass: alpha*T²*KL(softmax(t/T) || softmax(s/T)) + (1-alpha)*CE(softmax(s), y)
//	binary:     the same with the two-class distributions (1-σ(t/T), σ(t/T)) and (1-σ(s/T), σ(s/T)),
//	            and binary cross-entropy for the hard part
//	regression: alpha*(s-t)² + (1-alpha)*(s-y)², on the standardized target
//
// where s are the student's logits, t the teacher's and y the true label.
// The T² factor keeps the soft part's gradients (which scale as 1/T²) on the
// same scale as the hard part's.
type distillLoss struct {
	task    Task
	y       []float64
	teacher [][]float64 // teacher logits (standardized output for regression)
	t       float64     // temperature
	alpha   float64
	hard    hardLoss
	ps, pt  []float64
	hg      []float64
}

func newDistillLoss(task Task, y []float64, teacher [][]float64, t, alpha float64) *distillLoss {
	return &distillLoss{task: task, y: y, teacher: teacher, t: t, alpha: alpha, hard: hardLoss{task: task, y: y}}
}

func (d *distillLoss) loss(i int, out, grad []float64) float64 {
	n := len(out)
	if cap(d.hg) < n {
		d.hg, d.ps, d.pt = make([]float64, n), make([]float64, n), make([]float64, n)
	}
	var hg []float64
	if grad != nil {
		hg = d.hg[:n]
	}
	hard := d.hard.loss(i, out, hg)
	tl := d.teacher[i]
	a, T := d.alpha, d.t
	var soft float64
	switch d.task {
	case Multiclass:
		ps, pt := d.ps[:n], d.pt[:n]
		softmax(ps, out, T)
		softmax(pt, tl, T)
		lseS := logSumExpScaled(out, T)
		lseT := logSumExpScaled(tl, T)
		for k := range out {
			if pt[k] > 0 {
				// log pt - log ps = (tl/T - lseT) - (out/T - lseS)
				soft += pt[k] * ((tl[k]/T - lseT) - (out[k]/T - lseS))
			}
		}
		soft *= T * T
		if grad != nil {
			for k := range out {
				grad[k] = a*T*(ps[k]-pt[k]) + (1-a)*hg[k]
			}
		}
	case Binary:
		s, t := out[0]/T, tl[0]/T
		p, q := sigmoid(t), sigmoid(s)
		// KL(p||q) = p(log p - log q) + (1-p)(log(1-p) - log(1-q))
		soft = p*(logSigmoid(t)-logSigmoid(s)) + (1-p)*(logSigmoid(-t)-logSigmoid(-s))
		soft *= T * T
		if grad != nil {
			grad[0] = a*T*(q-p) + (1-a)*hg[0]
		}
	default: // Regression
		e := out[0] - tl[0]
		soft = e * e
		if grad != nil {
			grad[0] = a*2*e + (1-a)*hg[0]
		}
	}
	return a*soft + (1-a)*hard
}

func logSumExp(x []float64) float64 { return logSumExpScaled(x, 1) }

// logSumExpScaled returns log(sum(exp(x/t))).
func logSumExpScaled(x []float64, t float64) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, v/t)
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v/t - mx)
	}
	return mx + math.Log(s)
}
