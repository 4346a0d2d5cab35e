package infer

import (
	"encoding/binary"
	"slices"

	"github.com/megapipe/mega/shared/tflite"
)

// Data-movement operators: SHAPE, STRIDED_SLICE, SLICE, PACK, TRANSPOSE,
// GATHER, EXPAND_DIMS, SPLIT, CAST. They work on elements of any fixed size
// (float32, int8, int32, int64) and precompute at prepare time, for each
// output element, the index of the input element it copies, so eval is one
// indexed copy and does not allocate.

// indexCopy copies element idx[i] of src to element i of dst.
func indexCopy(dst, src []byte, idx []int32, es int) {
	switch es {
	case 1:
		for i, j := range idx {
			dst[i] = src[j]
		}
	case 4:
		for i, j := range idx {
			copy(dst[4*i:4*i+4], src[4*int(j):4*int(j)+4])
		}
	default:
		for i, j := range idx {
			copy(dst[es*i:es*i+es], src[es*int(j):es*int(j)+es])
		}
	}
}

// strides returns the row-major element strides of shape.
func strides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for d := len(shape) - 1; d >= 0; d-- {
		st[d] = s
		s *= shape[d]
	}
	return st
}

// forEachIndex calls f with every multi-index of shape, in row-major order.
func forEachIndex(shape []int, f func(idx []int)) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n == 0 {
		return
	}
	idx := make([]int, len(shape))
	for range n {
		f(idx)
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
}

func setInts(t *Tensor, v []int) {
	switch t.Type {
	case tflite.Int64:
		for i, x := range v {
			binary.LittleEndian.PutUint64(t.data[8*i:], uint64(int64(x)))
		}
	default:
		for i, x := range v {
			binary.LittleEndian.PutUint32(t.data[4*i:], uint32(int32(x)))
		}
	}
}

// constInts reads a constant INT32/INT64 input.
func constInts(t *Tensor, what string) ([]int, error) {
	if t == nil {
		return nil, errf(ErrInvalid, "missing %s", what)
	}
	if !t.isConst {
		return nil, errf(ErrUnsupported, "non-constant %s (tensor %q)", what, t.Name)
	}
	v, ok := t.ints()
	if !ok {
		return nil, errf(ErrUnsupported, "%s of type %v", what, t.Type)
	}
	return v, nil
}

func elemSize(n *node, ts ...*Tensor) (int, error) {
	es := ts[0].Type.Size()
	for _, t := range ts {
		if t.Type != ts[0].Type || t.Type.Size() == 0 {
			return 0, typeErr(n, ts...)
		}
	}
	return es, nil
}

// sameQuant requires an int8 output to keep the input's quantization (the
// data-movement ops copy bytes).
func sameQuant(x, y *Tensor) error {
	if x.Type != tflite.Int8 {
		return nil
	}
	if x.Scale() != y.Scale() || x.ZeroPoint() != y.ZeroPoint() {
		return errf(ErrUnsupported, "int8 output quantization (%v, %d) differs from the input's (%v, %d)",
			y.Scale(), y.ZeroPoint(), x.Scale(), x.ZeroPoint())
	}
	return nil
}

// ---- SHAPE (always folded)

type shapeKernel struct{ shape []int }

func (k *shapeKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 1, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	if y.Type != tflite.Int32 && y.Type != tflite.Int64 {
		return typeErr(n, x, y)
	}
	k.shape = slices.Clone(x.Shape)
	y.Shape = []int{len(x.Shape)}
	return nil
}

func (k *shapeKernel) eval(ip *Interpreter, n *node) { setInts(ip.out(n, 0), k.shape) }

// ---- index-map ops

type indexKernel struct {
	es  int
	idx []int32
}

func (k *indexKernel) eval(ip *Interpreter, n *node) {
	indexCopy(ip.out(n, 0).data, ip.in(n, 0).data, k.idx, k.es)
}

// build fills k.idx from the output shape and a function from output index
// to input flat index, after checking the output against the memory bound
// (the index map is built at prepare, before prepareAll checks outputs).
func (k *indexKernel) build(ip *Interpreter, outShape []int, src func(o []int) int) error {
	if err := boundShape(ip, outShape, max(k.es, 4)); err != nil {
		return err
	}
	k.idx = k.idx[:0]
	forEachIndex(outShape, func(o []int) { k.idx = append(k.idx, int32(src(o))) })
	return nil
}

// boundShape refuses a shape whose elements of es bytes exceed the
// interpreter's memory bound (or overflow).
func boundShape(ip *Interpreter, shape []int, es int) error {
	n := es
	for _, d := range shape {
		if d < 0 || (d > 0 && n > ip.maxArena()/d) {
			return errf(ErrInvalid, "shape %v exceeds %d bytes", shape, ip.maxArena())
		}
		n *= d
	}
	if n > ip.maxArena() {
		return errf(ErrInvalid, "shape %v exceeds %d bytes", shape, ip.maxArena())
	}
	return nil
}

// ---- STRIDED_SLICE and SLICE

type sliceKernel struct{ indexKernel }

func (k *sliceKernel) prepare(ip *Interpreter, n *node) error {
	strided := n.op == tflite.OpStridedSlice
	nin := 3
	if strided {
		nin = 4
	}
	if err := need(ip, n, nin, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	es, err := elemSize(n, x, y)
	if err != nil {
		return err
	}
	if err := sameQuant(x, y); err != nil {
		return err
	}
	k.es = es
	rank := len(x.Shape)
	begin, err := constInts(ip.in(n, 1), "begin")
	if err != nil {
		return err
	}
	var end, step []int
	if end, err = constInts(ip.in(n, 2), "end/size"); err != nil {
		return err
	}
	step = make([]int, rank)
	for i := range step {
		step[i] = 1
	}
	var o tflite.StridedSliceOptions
	if strided {
		if step, err = constInts(ip.in(n, 3), "strides"); err != nil {
			return err
		}
		if p, ok := n.opts.(*tflite.StridedSliceOptions); ok {
			o = *p
		}
		if o.EllipsisMask != 0 || o.NewAxisMask != 0 {
			return errf(ErrUnsupported, "strided slice with ellipsis or new-axis mask")
		}
	}
	if len(begin) != rank || len(end) != rank || len(step) != rank {
		return errf(ErrInvalid, "begin %v end %v strides %v for rank %d", begin, end, step, rank)
	}
	start := make([]int, rank)
	count := make([]int, rank)
	var outShape []int
	for d := range rank {
		dim := x.Shape[d]
		b, e, s := begin[d], end[d], step[d]
		if !strided {
			if e == -1 {
				e = dim - b
			}
			e, s = b+e, 1
			if b < 0 || e > dim || b > e {
				return errf(ErrInvalid, "slice begin %v size %v of %v", begin, end, x.Shape)
			}
		} else {
			if s == 0 {
				return errf(ErrInvalid, "stride 0")
			}
			shrink := o.ShrinkAxisMask&(1<<d) != 0
			if b < 0 {
				b += dim
			}
			if e < 0 {
				e += dim
			}
			if o.Offset {
				e = b + end[d]
			}
			if s > 0 {
				if o.BeginMask&(1<<d) != 0 {
					b = 0
				}
				if o.EndMask&(1<<d) != 0 {
					e = dim
				}
				b, e = min(max(b, 0), dim), min(max(e, 0), dim)
			} else {
				if o.BeginMask&(1<<d) != 0 {
					b = dim - 1
				}
				if o.EndMask&(1<<d) != 0 {
					e = -1
				}
				b, e = min(max(b, -1), dim-1), min(max(e, -1), dim-1)
			}
			if shrink {
				if b < 0 || b >= dim {
					return errf(ErrInvalid, "shrink index %d of dimension %d", begin[d], dim)
				}
				e, s = b+1, 1
			}
		}
		c := 0
		if s > 0 && e > b {
			c = (e - b + s - 1) / s
		} else if s < 0 && e < b {
			c = (b - e - s - 1) / -s
		}
		start[d], count[d], step[d] = b, c, s
		if !(strided && o.ShrinkAxisMask&(1<<d) != 0) {
			outShape = append(outShape, c)
		}
	}
	if outShape == nil {
		outShape = []int{}
	}
	y.Shape = outShape
	st := strides(x.Shape)
	return k.build(ip, count, func(oi []int) int {
		j := 0
		for d, v := range oi {
			j += (start[d] + v*step[d]) * st[d]
		}
		return j
	})
}

// ---- TRANSPOSE

type transposeKernel struct{ indexKernel }

func (k *transposeKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	es, err := elemSize(n, x, y)
	if err != nil {
		return err
	}
	if err := sameQuant(x, y); err != nil {
		return err
	}
	k.es = es
	perm, err := constInts(ip.in(n, 1), "permutation")
	if err != nil {
		return err
	}
	rank := len(x.Shape)
	if len(perm) != rank {
		return errf(ErrInvalid, "permutation %v for rank %d", perm, rank)
	}
	seen := make([]bool, rank)
	shape := make([]int, rank)
	for i, p := range perm {
		if p < 0 {
			p += rank
		}
		if p < 0 || p >= rank || seen[p] {
			return errf(ErrInvalid, "permutation %v", perm)
		}
		seen[p] = true
		perm[i] = p
		shape[i] = x.Shape[p]
	}
	y.Shape = shape
	st := strides(x.Shape)
	return k.build(ip, shape, func(oi []int) int {
		j := 0
		for i, v := range oi {
			j += v * st[perm[i]]
		}
		return j
	})
}

// ---- PACK (several inputs) and CONCATENATION of int32/int64 shapes

type packKernel struct {
	es    int
	outer int
	inner int
}

func (k *packKernel) prepare(ip *Interpreter, n *node) error {
	if len(n.in) < 1 {
		return errf(ErrInvalid, "no inputs")
	}
	if err := need(ip, n, len(n.in), 1); err != nil {
		return err
	}
	x0, y := ip.in(n, 0), ip.out(n, 0)
	axis := 0
	if o, ok := n.opts.(*tflite.PackOptions); ok {
		axis = o.Axis
	}
	rank := len(x0.Shape) + 1
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return errf(ErrInvalid, "axis %d for rank %d", axis, rank)
	}
	ts := []*Tensor{y}
	for j := range n.in {
		x := ip.in(n, j)
		if !slices.Equal(x.Shape, x0.Shape) {
			return errf(ErrInvalid, "input %d shape %v vs %v", j, x.Shape, x0.Shape)
		}
		if err := sameQuant(x, y); err != nil {
			return err
		}
		ts = append(ts, x)
	}
	es, err := elemSize(n, ts...)
	if err != nil {
		return err
	}
	k.es = es
	k.outer, k.inner = 1, 1
	for _, d := range x0.Shape[:axis] {
		k.outer *= d
	}
	for _, d := range x0.Shape[axis:] {
		k.inner *= d
	}
	shape := slices.Clone(x0.Shape[:axis])
	shape = append(shape, len(n.in))
	y.Shape = append(shape, x0.Shape[axis:]...)
	return nil
}

func (k *packKernel) eval(ip *Interpreter, n *node) {
	out := ip.out(n, 0).data
	row := k.inner * k.es
	o := 0
	for b := 0; b < k.outer; b++ {
		for j := range n.in {
			copy(out[o:o+row], ip.in(n, j).data[b*row:(b+1)*row])
			o += row
		}
	}
}

// ---- GATHER (Embedding)

type gatherKernel struct {
	es                  int
	outer, inner, limit int
	nIdx                int
}

func (k *gatherKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	x, ix, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	es, err := elemSize(n, x, y)
	if err != nil {
		return err
	}
	if err := sameQuant(x, y); err != nil {
		return err
	}
	if ix.Type != tflite.Int32 && ix.Type != tflite.Int64 {
		return typeErr(n, x, ix, y)
	}
	axis := 0
	if o, ok := n.opts.(*tflite.GatherOptions); ok {
		if o.BatchDims != 0 {
			return errf(ErrUnsupported, "gather with batch_dims %d", o.BatchDims)
		}
		axis = o.Axis
	}
	if axis < 0 {
		axis += len(x.Shape)
	}
	if axis < 0 || axis >= len(x.Shape) {
		return errf(ErrInvalid, "axis %d for %v", axis, x.Shape)
	}
	k.es = es
	k.outer, k.inner = 1, 1
	for _, d := range x.Shape[:axis] {
		k.outer *= d
	}
	for _, d := range x.Shape[axis+1:] {
		k.inner *= d
	}
	k.limit = x.Shape[axis]
	k.nIdx = ix.NumElements()
	shape := slices.Clone(x.Shape[:axis])
	shape = append(shape, ix.Shape...)
	y.Shape = append(shape, x.Shape[axis+1:]...)
	return nil
}

func (k *gatherKernel) eval(ip *Interpreter, n *node) {
	x, ix, y := ip.in(n, 0), ip.in(n, 1), ip.out(n, 0)
	row := k.inner * k.es
	i32, i64 := ix.Int32s(), ix.int64s()
	o := 0
	for b := 0; b < k.outer; b++ {
		for i := 0; i < k.nIdx; i++ {
			var j int
			if i32 != nil {
				j = int(i32[i])
			} else {
				j = int(i64[i])
			}
			dst := y.data[o : o+row]
			if j < 0 || j >= k.limit {
				// TFLite fails the invocation on an out-of-range index; this
				// interpreter cannot fail inside Invoke, so it writes zeros
				// (documented in doc.go).
				clear(dst)
			} else {
				src := (b*k.limit + j) * row
				copy(dst, x.data[src:src+row])
			}
			o += row
		}
	}
}

// ---- EXPAND_DIMS

type expandDimsKernel struct{}

func (k *expandDimsKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	if _, err := elemSize(n, x, y); err != nil {
		return err
	}
	a, err := constInts(ip.in(n, 1), "axis")
	if err != nil {
		return err
	}
	if len(a) != 1 {
		return errf(ErrInvalid, "axis %v", a)
	}
	axis := a[0]
	if axis < 0 {
		axis += len(x.Shape) + 1
	}
	if axis < 0 || axis > len(x.Shape) {
		return errf(ErrInvalid, "axis %d for %v", a[0], x.Shape)
	}
	shape := slices.Clone(x.Shape[:axis])
	shape = append(shape, 1)
	y.Shape = append(shape, x.Shape[axis:]...)
	return nil
}

func (k *expandDimsKernel) eval(ip *Interpreter, n *node) {
	copy(ip.out(n, 0).data, ip.in(n, 0).data)
}

// ---- SPLIT (axis tensor first, then the input)

type splitKernel struct {
	es           int
	outer, inner int // inner: bytes per outer step of each output
}

func (k *splitKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	x := ip.in(n, 1)
	a, err := constInts(ip.in(n, 0), "axis")
	if err != nil {
		return err
	}
	if len(a) != 1 {
		return errf(ErrInvalid, "axis %v", a)
	}
	axis := a[0]
	if axis < 0 {
		axis += len(x.Shape)
	}
	if axis < 0 || axis >= len(x.Shape) {
		return errf(ErrInvalid, "axis %d for %v", a[0], x.Shape)
	}
	ns := len(n.out)
	if x.Shape[axis]%ns != 0 {
		return errf(ErrInvalid, "dimension %d of %v in %d splits", axis, x.Shape, ns)
	}
	k.es = x.Type.Size()
	if k.es == 0 {
		return typeErr(n, x)
	}
	k.outer = 1
	for _, d := range x.Shape[:axis] {
		k.outer *= d
	}
	k.inner = k.es * x.Shape[axis] / ns
	for _, d := range x.Shape[axis+1:] {
		k.inner *= d
	}
	for j := range n.out {
		y := ip.out(n, j)
		if y.Type != x.Type {
			return typeErr(n, x, y)
		}
		if err := sameQuant(x, y); err != nil {
			return err
		}
		y.Shape = slices.Clone(x.Shape)
		y.Shape[axis] /= ns
	}
	return nil
}

func (k *splitKernel) eval(ip *Interpreter, n *node) {
	x := ip.in(n, 1).data
	ns := len(n.out)
	for b := 0; b < k.outer; b++ {
		for j := range ns {
			src := (b*ns + j) * k.inner
			copy(ip.out(n, j).data[b*k.inner:(b+1)*k.inner], x[src:src+k.inner])
		}
	}
}

// ---- CAST between float32, int32, int64 and int8 (no quantization)

type castKernel struct{}

func (k *castKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 1, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	ok := func(t tflite.TensorType) bool {
		return t == tflite.Float32 || t == tflite.Int32 || t == tflite.Int64 || t == tflite.Int8 || t == tflite.Bool
	}
	if !ok(x.Type) || !ok(y.Type) {
		return typeErr(n, x, y)
	}
	y.Shape = slices.Clone(x.Shape)
	return nil
}

func getF(t *Tensor, i int) float64 {
	switch t.Type {
	case tflite.Float32:
		return float64(t.Float32s()[i])
	case tflite.Int32:
		return float64(t.Int32s()[i])
	case tflite.Int64:
		return float64(t.int64s()[i])
	case tflite.Int8:
		return float64(int8(t.data[i]))
	default:
		return float64(t.data[i])
	}
}

func (k *castKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	cnt := x.NumElements()
	for i := range cnt {
		v := getF(x, i)
		switch y.Type {
		case tflite.Float32:
			y.Float32s()[i] = float32(v)
		case tflite.Int32:
			y.Int32s()[i] = int32(v)
		case tflite.Int64:
			y.int64s()[i] = int64(v)
		case tflite.Int8:
			y.data[i] = byte(int8(v))
		case tflite.Bool:
			if v != 0 {
				y.data[i] = 1
			} else {
				y.data[i] = 0
			}
		}
	}
}

// ---- ARG_MAX over one axis (float32 or int8 input)

type argMaxKernel struct{ outer, dim, inner int }

func (k *argMaxKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	if (x.Type != tflite.Float32 && x.Type != tflite.Int8) || (y.Type != tflite.Int32 && y.Type != tflite.Int64) {
		return typeErr(n, x, y)
	}
	a, err := constInts(ip.in(n, 1), "axis")
	if err != nil {
		return err
	}
	if len(a) != 1 {
		return errf(ErrInvalid, "axis %v", a)
	}
	axis := a[0]
	if axis < 0 {
		axis += len(x.Shape)
	}
	if axis < 0 || axis >= len(x.Shape) || x.Shape[axis] == 0 {
		return errf(ErrInvalid, "axis %d for %v", a[0], x.Shape)
	}
	k.outer, k.dim, k.inner = 1, x.Shape[axis], 1
	for _, d := range x.Shape[:axis] {
		k.outer *= d
	}
	for _, d := range x.Shape[axis+1:] {
		k.inner *= d
	}
	shape := slices.Clone(x.Shape[:axis])
	y.Shape = append(shape, x.Shape[axis+1:]...)
	return nil
}

func (k *argMaxKernel) eval(ip *Interpreter, n *node) {
	x, y := ip.in(n, 0), ip.out(n, 0)
	f := x.Float32s()
	q := x.Int8s()
	for b := 0; b < k.outer; b++ {
		for i := 0; i < k.inner; i++ {
			best := 0
			for j := 1; j < k.dim; j++ {
				at, bt := (b*k.dim+j)*k.inner+i, (b*k.dim+best)*k.inner+i
				if (f != nil && f[at] > f[bt]) || (q != nil && q[at] > q[bt]) {
					best = j
				}
			}
			o := b*k.inner + i
			if y.Type == tflite.Int64 {
				y.int64s()[o] = int64(best)
			} else {
				y.Int32s()[o] = int32(best)
			}
		}
	}
}

// ---- TILE (UpSampling2D's nearest upsampling: EXPAND_DIMS, TILE, RESHAPE)

type tileKernel struct{ indexKernel }

func (k *tileKernel) prepare(ip *Interpreter, n *node) error {
	if err := need(ip, n, 2, 1); err != nil {
		return err
	}
	x, y := ip.in(n, 0), ip.out(n, 0)
	es, err := elemSize(n, x, y)
	if err != nil {
		return err
	}
	if err := sameQuant(x, y); err != nil {
		return err
	}
	mult, err := constInts(ip.in(n, 1), "multiples")
	if err != nil {
		return err
	}
	if len(mult) != len(x.Shape) {
		return errf(ErrInvalid, "multiples %v for %v", mult, x.Shape)
	}
	shape := make([]int, len(mult))
	for d, m := range mult {
		if m < 0 || m > 1<<20 {
			return errf(ErrInvalid, "multiples %v", mult)
		}
		shape[d] = x.Shape[d] * m
	}
	k.es = es
	y.Shape = shape
	st := strides(x.Shape)
	return k.build(ip, shape, func(o []int) int {
		j := 0
		for d, v := range o {
			j += (v % x.Shape[d]) * st[d]
		}
		return j
	})
}
