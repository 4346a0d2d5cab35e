package infer

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/megapipe/mega/shared/infer/kernels"
	"github.com/megapipe/mega/shared/tflite"
)

// Requant selects the int8 requantization arithmetic.
type Requant = kernels.Mode

// Requantization modes. XNNPack is the default (the zero value).
const (
	XNNPack   = kernels.XNNPack
	Reference = kernels.Reference
)

// ParseRequant reads "xnnpack" or "reference".
func ParseRequant(s string) (Requant, error) {
	switch s {
	case "", "xnnpack":
		return XNNPack, nil
	case "reference":
		return Reference, nil
	}
	return 0, fmt.Errorf("infer: unknown requantization mode %q (want xnnpack or reference)", s)
}

// Options configure an interpreter.
type Options struct {
	// Requant is XNNPack (default) or Reference.
	Requant Requant
	// Subgraph is the subgraph to run (0, the main graph, by default).
	Subgraph int
	// PreserveAll gives every tensor its own memory, so that every
	// intermediate tensor (Interpreter.Tensor) holds its value after Invoke:
	// for calibration, which records each tensor's range.
	PreserveAll bool
	// MaxArenaBytes bounds the planned activation memory (and any single
	// tensor); 0 means DefaultMaxArenaBytes. A model whose shapes need more
	// is refused with ErrInvalid instead of allocating without bound.
	MaxArenaBytes int
}

// DefaultMaxArenaBytes is the activation memory bound when
// Options.MaxArenaBytes is 0 (1 GiB).
const DefaultMaxArenaBytes = 1 << 30

// Sentinel errors.
var (
	// ErrUnsupported means the model uses an operator, version, type or
	// option this interpreter does not run.
	ErrUnsupported = errors.New("unsupported")
	// ErrInvalid means the model or a call is inconsistent (shapes,
	// quantization, indices).
	ErrInvalid = errors.New("invalid")
)

// Interpreter runs one subgraph of a model. It is not safe for concurrent
// use: use one interpreter per goroutine (Clone makes another one cheaply,
// sharing the model's read-only weights).
type Interpreter struct {
	shared  *sharedModel
	opts    Options
	sg      *tflite.Subgraph
	tensors []*Tensor
	nodes   []*node
	inputs  []int
	outputs []int
	arena   []byte
	macs    int64
}

// sharedModel is what clones share: the model and read-only constant data.
type sharedModel struct {
	model  *tflite.Model
	mu     sync.Mutex
	consts map[int][]byte // subgraph tensor index -> aligned constant data
	packed map[string]any // packed weights keyed by op
}

type node struct {
	index int
	op    tflite.BuiltinOperator
	opts  tflite.Options
	in    []int // -1 = absent optional input
	out   []int
	k     kernel
	macs  int64
	// folded: every input is constant (or the op is SHAPE), so the output
	// was computed once at prepare time (folding.go) and Invoke skips it.
	folded bool
}

type kernel interface {
	// prepare checks types and shapes, sets output shapes and derives
	// parameters. It runs at New and after ResizeInput.
	prepare(ip *Interpreter, n *node) error
	// eval runs the op; it must not allocate.
	eval(ip *Interpreter, n *node)
}

// New prepares an interpreter for subgraph opts.Subgraph of m: it checks
// every operator, derives kernel parameters, packs weights and plans memory.
func New(m *tflite.Model, opts Options) (*Interpreter, error) {
	if m == nil {
		return nil, fmt.Errorf("infer: new: %w: nil model", ErrInvalid)
	}
	if kernelPathErr != nil {
		return nil, fmt.Errorf("infer: new: %w", kernelPathErr)
	}
	return newInterpreter(&sharedModel{model: m, consts: map[int][]byte{}, packed: map[string]any{}}, opts)
}

// Clone returns a new interpreter over the same model and weights, with its
// own memory, and the same input shapes. Clones may run concurrently.
func (ip *Interpreter) Clone() (*Interpreter, error) {
	c, err := newInterpreter(ip.shared, ip.opts)
	if err != nil {
		return nil, err
	}
	for i, ti := range ip.inputs {
		if !slices.Equal(c.tensors[ti].Shape, ip.tensors[ti].Shape) {
			if err := c.ResizeInput(i, ip.tensors[ti].Shape); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

func newInterpreter(sh *sharedModel, opts Options) (*Interpreter, error) {
	m := sh.model
	if opts.Subgraph < 0 || opts.Subgraph >= len(m.Subgraphs) {
		return nil, fmt.Errorf("infer: new: %w: subgraph %d of %d", ErrInvalid, opts.Subgraph, len(m.Subgraphs))
	}
	sg := &m.Subgraphs[opts.Subgraph]
	ip := &Interpreter{shared: sh, opts: opts, sg: sg, inputs: sg.Inputs, outputs: sg.Outputs}
	ip.tensors = make([]*Tensor, len(sg.Tensors))
	for i := range sg.Tensors {
		t := &sg.Tensors[i]
		if slices.Contains(t.Shape, -1) || slices.ContainsFunc(t.Shape, func(d int) bool { return d < 0 }) {
			return nil, fmt.Errorf("infer: new: tensor %d %q: %w: negative dimension in %v", i, t.Name, ErrInvalid, t.Shape)
		}
		ip.tensors[i] = &Tensor{Name: t.Name, Type: t.Type, Shape: slices.Clone(t.Shape), Quantization: t.Quantization,
			index: i, isVar: t.IsVariable}
		if t.Buffer > 0 && t.Buffer < len(m.Buffers) && len(m.Buffers[t.Buffer]) > 0 {
			data, err := sh.constData(m, opts.Subgraph, i)
			if err != nil {
				return nil, err
			}
			ip.tensors[i].data = data
			ip.tensors[i].isConst = true
		}
	}
	checkIdx := func(what string, idx []int, optional bool) error {
		for _, x := range idx {
			if (x == -1 && optional) || (x >= 0 && x < len(sg.Tensors)) {
				continue
			}
			return fmt.Errorf("infer: new: %s: %w: tensor index %d of %d", what, ErrInvalid, x, len(sg.Tensors))
		}
		return nil
	}
	if err := checkIdx("subgraph inputs", ip.inputs, false); err != nil {
		return nil, err
	}
	if err := checkIdx("subgraph outputs", ip.outputs, false); err != nil {
		return nil, err
	}
	for i := range sg.Operators {
		o := &sg.Operators[i]
		if o.OpcodeIndex < 0 || o.OpcodeIndex >= len(m.OperatorCodes) {
			return nil, fmt.Errorf("infer: new: op %d: %w: opcode index %d", i, ErrInvalid, o.OpcodeIndex)
		}
		code := m.OperatorCodes[o.OpcodeIndex]
		if err := checkIdx(fmt.Sprintf("op %d %v inputs", i, code.Builtin), o.Inputs, true); err != nil {
			return nil, err
		}
		if err := checkIdx(fmt.Sprintf("op %d %v outputs", i, code.Builtin), o.Outputs, false); err != nil {
			return nil, err
		}
		k, err := newKernel(code)
		if err != nil {
			return nil, fmt.Errorf("infer: new: op %d: %w", i, err)
		}
		for _, t := range o.Outputs {
			if ip.tensors[t].isConst {
				return nil, fmt.Errorf("infer: new: op %d %v: %w: writes constant tensor %d", i, code.Builtin, ErrInvalid, t)
			}
		}
		ip.nodes = append(ip.nodes, &node{index: i, op: code.Builtin, opts: o.Options, in: o.Inputs, out: o.Outputs, k: k})
	}
	if err := ip.prepareAll(); err != nil {
		return nil, err
	}
	return ip, nil
}

// constData returns the aligned copy of a constant tensor's data, checking
// its size against the shape.
func (sh *sharedModel) constData(m *tflite.Model, si, ti int) ([]byte, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if d, ok := sh.consts[ti]; ok && si == 0 {
		return d, nil
	}
	t := &m.Subgraphs[si].Tensors[ti]
	raw := m.Buffers[t.Buffer]
	n := t.NumElements() * t.Type.Size()
	if t.Type.Size() == 0 {
		return nil, fmt.Errorf("infer: new: tensor %d %q: %w: constant of type %v", ti, t.Name, ErrUnsupported, t.Type)
	}
	if len(raw) != n {
		return nil, fmt.Errorf("infer: new: tensor %d %q: %w: %d bytes of data for shape %v %v", ti, t.Name, ErrInvalid, len(raw), t.Shape, t.Type)
	}
	d := alignedCopy(raw)
	if si == 0 {
		sh.consts[ti] = d
	}
	return d, nil
}

// packedWeights returns the cached value for key, computing it once.
func (sh *sharedModel) packedWeights(key string, f func() any) any {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if v, ok := sh.packed[key]; ok {
		return v
	}
	v := f()
	sh.packed[key] = v
	return v
}

// prepareAll runs every kernel's prepare in order and plans memory.
func (ip *Interpreter) prepareAll() error {
	ip.macs = 0
	for _, t := range ip.inputs {
		if sz, ok := tensorBytes(ip.tensors[t]); !ok || sz > ip.maxArena() {
			return fmt.Errorf("infer: input tensor %d: %w: shape %v exceeds %d bytes", t, ErrInvalid, ip.tensors[t].Shape, ip.maxArena())
		}
	}
	for _, n := range ip.nodes {
		for _, t := range n.in {
			if t >= 0 && !ip.tensors[t].isConst && !ip.produced(t, n.index) {
				return fmt.Errorf("infer: op %d %v: %w: input tensor %d is neither constant, a graph input nor produced earlier", n.index, n.op, ErrInvalid, t)
			}
		}
		n.macs = 0
		if err := n.k.prepare(ip, n); err != nil {
			return fmt.Errorf("infer: op %d %v: %w", n.index, n.op, err)
		}
		if err := ip.fold(n); err != nil {
			return fmt.Errorf("infer: op %d %v: %w", n.index, n.op, err)
		}
		// Check output sizes before a later op sizes anything by them.
		for _, t := range n.out {
			if sz, ok := tensorBytes(ip.tensors[t]); !ok || sz > ip.maxArena() {
				return fmt.Errorf("infer: op %d %v: %w: output %d of shape %v exceeds %d bytes",
					n.index, n.op, ErrInvalid, t, ip.tensors[t].Shape, ip.maxArena())
			}
		}
		ip.macs += n.macs
	}
	return ip.plan()
}

// produced reports whether tensor t is a graph input or an output of a node
// before op index before.
func (ip *Interpreter) produced(t, before int) bool {
	if slices.Contains(ip.inputs, t) || ip.tensors[t].isVar {
		return true
	}
	for _, n := range ip.nodes {
		if n.index >= before {
			break
		}
		if slices.Contains(n.out, t) {
			return true
		}
	}
	return false
}

// plan assigns every non-constant tensor an arena offset. Tensors whose
// lifetimes (first writer to last reader) do not overlap share memory; graph
// inputs and outputs live throughout.
func (ip *Interpreter) plan() error {
	type life struct {
		t, first, last, size, off int
	}
	const align = 64
	end := len(ip.nodes)
	lives := map[int]*life{}
	touch := func(t, at int) {
		if t < 0 || ip.tensors[t].isConst {
			return
		}
		l, ok := lives[t]
		if !ok {
			sz := ip.tensors[t].byteSize()
			l = &life{t: t, first: at, last: at, size: (sz + align - 1) / align * align}
			lives[t] = l
		}
		l.first = min(l.first, at)
		l.last = max(l.last, at)
	}
	for _, t := range ip.inputs {
		touch(t, -1)
		touch(t, end)
	}
	for _, t := range ip.outputs {
		touch(t, -1)
		touch(t, end)
	}
	for i, t := range ip.tensors {
		if t.isVar {
			touch(i, -1)
			touch(i, end)
		}
	}
	for i, n := range ip.nodes {
		for _, t := range n.in {
			touch(t, i)
		}
		for _, t := range n.out {
			touch(t, i)
		}
	}
	limit := ip.maxArena()
	for t := range lives {
		if sz, ok := tensorBytes(ip.tensors[t]); !ok || sz > limit {
			return fmt.Errorf("infer: plan memory: %w: tensor %d %q of shape %v %v exceeds %d bytes",
				ErrInvalid, t, ip.tensors[t].Name, ip.tensors[t].Shape, ip.tensors[t].Type, limit)
		}
	}
	order := make([]*life, 0, len(lives))
	for _, l := range lives {
		if ip.opts.PreserveAll {
			l.first, l.last = -1, end
		}
		order = append(order, l)
	}
	sort.Slice(order, func(a, b int) bool {
		if order[a].size != order[b].size {
			return order[a].size > order[b].size
		}
		return order[a].t < order[b].t
	})
	var placed []*life
	total := 0
	for _, l := range order {
		// Lowest offset that fits between placed tensors alive at the same time.
		var busy []*life
		for _, p := range placed {
			if p.first <= l.last && l.first <= p.last {
				busy = append(busy, p)
			}
		}
		sort.Slice(busy, func(a, b int) bool { return busy[a].off < busy[b].off })
		off := 0
		for _, p := range busy {
			if off+l.size <= p.off {
				break
			}
			off = max(off, p.off+p.size)
		}
		l.off = off
		placed = append(placed, l)
		total = max(total, off+l.size)
		if total > limit {
			return fmt.Errorf("infer: plan memory: %w: activations need more than %d bytes", ErrInvalid, limit)
		}
	}
	if cap(ip.arena) < total || ip.arena == nil {
		ip.arena = alignedBytes(max(total, align))
	}
	arena := ip.arena[:cap(ip.arena)]
	for _, l := range placed {
		t := ip.tensors[l.t]
		t.data = arena[l.off : l.off+t.byteSize() : l.off+t.byteSize()]
	}
	return nil
}

func (ip *Interpreter) maxArena() int {
	if ip.opts.MaxArenaBytes > 0 {
		return ip.opts.MaxArenaBytes
	}
	return DefaultMaxArenaBytes
}

// tensorBytes returns a tensor's byte size, or ok=false on overflow.
func tensorBytes(t *Tensor) (int, bool) {
	n := t.Type.Size()
	for _, d := range t.Shape {
		if d < 0 || (d > 0 && n > (1<<50)/d) {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// ArenaBytes returns the size of the planned activation memory.
func (ip *Interpreter) ArenaBytes() int { return len(ip.arena) }

// MACs returns the multiply-accumulates of one inference (convolutions and
// fully connected layers).
func (ip *Interpreter) MACs() int64 { return ip.macs }

// NumInputs returns the number of graph inputs.
func (ip *Interpreter) NumInputs() int { return len(ip.inputs) }

// NumOutputs returns the number of graph outputs.
func (ip *Interpreter) NumOutputs() int { return len(ip.outputs) }

// Input returns graph input i (nil when out of range).
func (ip *Interpreter) Input(i int) *Tensor {
	if i < 0 || i >= len(ip.inputs) {
		return nil
	}
	return ip.tensors[ip.inputs[i]]
}

// Output returns graph output i (nil when out of range).
func (ip *Interpreter) Output(i int) *Tensor {
	if i < 0 || i >= len(ip.outputs) {
		return nil
	}
	return ip.tensors[ip.outputs[i]]
}

// NumTensors returns the number of tensors of the subgraph.
func (ip *Interpreter) NumTensors() int { return len(ip.tensors) }

// Tensor returns tensor i of the subgraph. Intermediate tensors hold their
// values after Invoke only with Options.PreserveAll.
func (ip *Interpreter) Tensor(i int) *Tensor {
	if i < 0 || i >= len(ip.tensors) {
		return nil
	}
	return ip.tensors[i]
}

// ResizeInput changes the shape of graph input i (typically its batch
// dimension), re-derives every shape and re-plans memory. It is a no-op when
// the shape is unchanged. Tensor views obtained earlier become invalid.
func (ip *Interpreter) ResizeInput(i int, shape []int) error {
	if i < 0 || i >= len(ip.inputs) {
		return fmt.Errorf("infer: resize input %d: %w: the model has %d inputs", i, ErrInvalid, len(ip.inputs))
	}
	for _, d := range shape {
		if d < 0 || d > 1<<28 {
			return fmt.Errorf("infer: resize input %d: %w: dimension %d", i, ErrInvalid, d)
		}
	}
	t := ip.tensors[ip.inputs[i]]
	if slices.Equal(t.Shape, shape) {
		return nil
	}
	old := t.Shape
	t.Shape = slices.Clone(shape)
	if err := ip.prepareAll(); err != nil {
		t.Shape = old
		if err2 := ip.prepareAll(); err2 != nil {
			return fmt.Errorf("infer: resize input %d: %w (and restoring: %v)", i, err, err2)
		}
		return fmt.Errorf("infer: resize input %d: %w", i, err)
	}
	return nil
}

// Invoke runs the graph once on the current inputs. It does not allocate.
func (ip *Interpreter) Invoke() error {
	for _, n := range ip.nodes {
		if !n.folded {
			n.k.eval(ip, n)
		}
	}
	return nil
}

// in returns input j of node n (nil if absent).
func (ip *Interpreter) in(n *node, j int) *Tensor {
	if j >= len(n.in) || n.in[j] < 0 {
		return nil
	}
	return ip.tensors[n.in[j]]
}

// out returns output j of node n.
func (ip *Interpreter) out(n *node, j int) *Tensor { return ip.tensors[n.out[j]] }
