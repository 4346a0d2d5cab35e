package infer

import (
	"slices"

	"github.com/megapipe/mega/shared/tflite"
)

// Comparisons (LESS, GREATER, ..., to BOOL), SELECT/SELECT_V2 and integer
// ADD/SUB/MUL: what Keras' Embedding emits to wrap negative indices
// (LESS, ADD, SELECT_V2 before GATHER), and shape arithmetic. Int8 inputs
// compare their bytes, which requires equal quantization.

// broadcastShape returns the NumPy broadcast of shapes.
func broadcastShape(shapes ...[]int) ([]int, bool) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		for i, d := range s {
			o := rank - len(s) + i
			switch {
			case d == out[o] || d == 1:
			case out[o] == 1:
				out[o] = d
			default:
				return nil, false
			}
		}
	}
	return out, true
}

// broadcastIndex maps each element of out (row-major) to the element of a
// tensor of shape in broadcast to it.
func broadcastIndex(out, in []int) []int32 {
	st := strides(in)
	off := len(out) - len(in)
	var idx []int32
	forEachIndex(out, func(o []int) {
		j := 0
		for d := range in {
			if in[d] != 1 {
				j += o[d+off] * st[d]
			}
		}
		idx = append(idx, int32(j))
	})
	if len(out) == 0 || idx == nil {
		n := 1
		for _, d := range out {
			n *= d
		}
		if n == 1 && idx == nil {
			idx = []int32{0}
		}
	}
	return idx
}

// valueAt reads element i of a float32, int32, int64 or int8 tensor.
func valueAt(t *Tensor, i int) float64 { return getF(t, i) }

type compareKernel struct{ ia, ib []int32 }

func (k *compareKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	a, b, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	ok := a.Type == b.Type && (a.Type == tflite.Float32 || a.Type == tflite.Int32 || a.Type == tflite.Int64 || a.Type == tflite.Int8)
	if !ok || y.Type != tflite.Bool {
		return typeErr(n, a, b, y)
	}
	if a.Type == tflite.Int8 && (a.Scale() != b.Scale() || a.ZeroPoint() != b.ZeroPoint()) {
		return errf(ErrUnsupported, "int8 comparison of differently quantized inputs")
	}
	shape, ok := broadcastShape(a.Shape, b.Shape)
	if !ok {
		return errf(ErrInvalid, "shapes %v and %v do not broadcast", a.Shape, b.Shape)
	}
	y.Shape = shape
	if err := boundShape(ip, shape, 4); err != nil {
		return err
	}
	k.ia, k.ib = broadcastIndex(shape, a.Shape), broadcastIndex(shape, b.Shape)
	return nil
}

func (k *compareKernel) eval(ip *Interpreter, n *node) {
	a, b, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	for o := range k.ia {
		p, q := valueAt(a, int(k.ia[o])), valueAt(b, int(k.ib[o]))
		var r bool
		switch n.op {
		case tflite.OpLess:
			r = p < q
		case tflite.OpLessEqual:
			r = p <= q
		case tflite.OpGreater:
			r = p > q
		case tflite.OpGreaterEqual:
			r = p >= q
		case tflite.OpEqual:
			r = p == q
		default:
			r = p != q
		}
		y.data[o] = 0
		if r {
			y.data[o] = 1
		}
	}
}

type selectKernel struct {
	es         int
	ic, ia, ib []int32
}

func (k *selectKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 3, 1); err != nil {
		return err
	}
	c, a, b, y := ip.in(n, 0), ip.in(n, 1), ip.in(n, 2), ip.out(n, 0)
	if c.Type != tflite.Bool {
		return typeErr(n, c, a, b, y)
	}
	es, err := elemSize(n, a, b, y)
	if err != nil {
		return err
	}
	if err := sameQuant(a, y); err != nil {
		return err
	}
	if err := sameQuant(b, y); err != nil {
		return err
	}
	shape, ok := broadcastShape(c.Shape, a.Shape, b.Shape)
	if !ok {
		return errf(ErrInvalid, "shapes %v, %v and %v do not broadcast", c.Shape, a.Shape, b.Shape)
	}
	if n.op == tflite.OpSelect && !slices.Equal(a.Shape, b.Shape) {
		return errf(ErrInvalid, "SELECT of shapes %v and %v", a.Shape, b.Shape)
	}
	k.es = es
	y.Shape = shape
	if err := boundShape(ip, shape, 4); err != nil {
		return err
	}
	k.ic, k.ia, k.ib = broadcastIndex(shape, c.Shape), broadcastIndex(shape, a.Shape), broadcastIndex(shape, b.Shape)
	return nil
}

func (k *selectKernel) eval(ip *Interpreter, n *node) {
	c, a, b, y := ip.in(n, 0), ip.in(n, 1), ip.in(n, 2), ip.out(n, 0)
	es := k.es
	for o := range k.ic {
		src, j := b.data, int(k.ib[o])
		if c.data[k.ic[o]] != 0 {
			src, j = a.data, int(k.ia[o])
		}
		copy(y.data[o*es:(o+1)*es], src[j*es:(j+1)*es])
	}
}

// arithKernel is ADD, SUB and MUL: INT32/INT64 here (with a fused
// activation of NONE only), float32 and int8 in binaryKernel.
type arithKernel struct {
	base   binaryKernel
	ints   bool
	ia, ib []int32
}

func (k *arithKernel) prepare(ip *Interpreter, n *node) error {
	a := ip.in(n, 0)
	k.ints = a != nil && (a.Type == tflite.Int32 || a.Type == tflite.Int64)
	if !k.ints {
		return k.base.prepare(ip, n)
	}
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	b, y := ip.in(n, 1), ip.out(n, 0)
	if b.Type != a.Type || y.Type != a.Type {
		return typeErr(n, a, b, y)
	}
	if tflite.FusedActivation(n.opts) != tflite.ActNone {
		return errf(ErrUnsupported, "integer %v with a fused activation", n.op)
	}
	shape, ok := broadcastShape(a.Shape, b.Shape)
	if !ok {
		return errf(ErrInvalid, "shapes %v and %v do not broadcast", a.Shape, b.Shape)
	}
	y.Shape = shape
	if err := boundShape(ip, shape, 4); err != nil {
		return err
	}
	k.ia, k.ib = broadcastIndex(shape, a.Shape), broadcastIndex(shape, b.Shape)
	return nil
}

func (k *arithKernel) eval(ip *Interpreter, n *node) {
	if !k.ints {
		k.base.eval(ip, n)
		return
	}
	a, b, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	for o := range k.ia {
		p, q := int64(valueAt(a, int(k.ia[o]))), int64(valueAt(b, int(k.ib[o])))
		var r int64
		switch n.op {
		case tflite.OpAdd:
			r = p + q
		case tflite.OpSub:
			r = p - q
		default:
			r = p * q
		}
		if y.Type == tflite.Int64 {
			y.int64s()[o] = r
		} else {
			y.Int32s()[o] = int32(r)
		}
	}
}
