package quant

import (
	"fmt"
	"math"

	"github.com/megapipe/mega/shared/tflite"
)

// role says how a float constant is quantized.
type role int

const (
	roleOther  role = iota // per-tensor asymmetric int8 over its own values
	roleWeight             // symmetric int8 per channel along axis
	roleBias               // int32 with scale s_in * s_w[c]
)

type constUse struct {
	role role
	axis int
	op   int // the op that owns a weight or bias
}

// graph is the float model with the facts the quantizer needs.
type graph struct {
	m           *tflite.Model
	sg          *tflite.Subgraph
	isConst     []bool
	activations []int            // float32 tensors without data, used by ops or graph I/O
	consts      map[int]constUse // float constants to quantize
	parent      []int            // union-find over tensors that must share quantization
	fixed       map[int]fixedParams
}

type fixedParams struct {
	scale float32
	zp    int64
	op    string
}

// supported lists the float operators the quantizer handles.
var supported = map[tflite.BuiltinOperator]bool{
	tflite.OpFullyConnected: true, tflite.OpConv2D: true, tflite.OpDepthwiseConv2D: true,
	tflite.OpAveragePool2D: true, tflite.OpMaxPool2D: true, tflite.OpReshape: true, tflite.OpSqueeze: true,
	tflite.OpSoftmax: true, tflite.OpLogistic: true, tflite.OpTanh: true, tflite.OpRelu: true, tflite.OpRelu6: true,
	tflite.OpAdd: true, tflite.OpSub: true, tflite.OpMul: true, tflite.OpConcatenation: true, tflite.OpMean: true,
	tflite.OpPad: true,
}

func newGraph(m *tflite.Model) (*graph, error) {
	sg := &m.Subgraphs[0]
	g := &graph{m: m, sg: sg, isConst: make([]bool, len(sg.Tensors)), consts: map[int]constUse{},
		parent: make([]int, len(sg.Tensors)), fixed: map[int]fixedParams{}}
	for i, t := range sg.Tensors {
		g.isConst[i] = t.Buffer > 0 && t.Buffer < len(m.Buffers) && len(m.Buffers[t.Buffer]) > 0
		g.parent[i] = i
	}
	used := make([]bool, len(sg.Tensors))
	for _, t := range sg.Inputs {
		used[t] = true
	}
	for _, t := range sg.Outputs {
		used[t] = true
	}
	for oi, op := range sg.Operators {
		code := m.OperatorCodes[op.OpcodeIndex].Builtin
		if len(op.Outputs) > 0 && !floatOut(sg, op) {
			if err := g.checkPassThrough(oi, code, op); err != nil {
				return nil, err
			}
			continue
		}
		if !supported[code] && !tiedOps[code] && !ownRangeOps[code] {
			name := ""
			if len(op.Outputs) > 0 && op.Outputs[0] >= 0 {
				name = sg.Tensors[op.Outputs[0]].Name
			}
			return nil, fmt.Errorf("operator %d %s (output %q): %w: no int8 rule for this operator", oi, code, name, ErrUnsupported)
		}
		di := dataInput(code)
		if len(op.Inputs) <= di || len(op.Outputs) == 0 || (len(op.Outputs) != 1 && code != tflite.OpSplit) || op.Inputs[di] < 0 {
			return nil, fmt.Errorf("operator %d %s: %w: %d inputs, %d outputs", oi, code, ErrUnsupported, len(op.Inputs), len(op.Outputs))
		}
		for _, t := range op.Inputs {
			if t >= 0 {
				used[t] = true
			}
		}
		for _, out := range op.Outputs {
			used[out] = true
			if sg.Tensors[out].Type != tflite.Float32 || g.isConst[out] {
				return nil, fmt.Errorf("operator %d %s: %w: output %q is %s (want a float32 activation)", oi, code, ErrUnsupported,
					sg.Tensors[out].Name, sg.Tensors[out].Type)
			}
		}
		if sg.Tensors[op.Inputs[di]].Type != tflite.Float32 {
			return nil, fmt.Errorf("operator %d %s: %w: input %q is %s (the model is not a float model)", oi, code, ErrUnsupported,
				sg.Tensors[op.Inputs[di]].Name, sg.Tensors[op.Inputs[di]].Type)
		}
		if err := g.classify(oi, code, op); err != nil {
			return nil, err
		}
		if err := g.classifyMore(oi, code, op); err != nil {
			return nil, err
		}
	}
	for i, t := range sg.Tensors {
		if used[i] && t.Type == tflite.Float32 && !g.isConst[i] {
			g.activations = append(g.activations, i)
		}
	}
	for _, t := range sg.Inputs {
		// Integer inputs (token ids) stay as they are.
		if typ := sg.Tensors[t].Type; typ != tflite.Float32 && typ != tflite.Int32 && typ != tflite.Int64 {
			return nil, fmt.Errorf("input %q: %w: %s", sg.Tensors[t].Name, ErrUnsupported, sg.Tensors[t].Type)
		}
	}
	return g, nil
}

// classify records the roles of an operator's constants, and the tensors
// whose quantization the operator ties together or fixes.
func (g *graph) classify(oi int, code tflite.BuiltinOperator, op tflite.Operator) error {
	in, out := op.Inputs, op.Outputs[0]
	setConst := func(t int, u constUse) error {
		if t < 0 {
			return nil
		}
		if !g.isConst[t] {
			if u.role != roleOther {
				return fmt.Errorf("operator %d %s: %w: input %q must be a constant", oi, code, ErrUnsupported, g.sg.Tensors[t].Name)
			}
			return nil
		}
		if g.sg.Tensors[t].Type != tflite.Float32 {
			return nil // int32 shapes, axes, paddings stay as they are
		}
		if prev, ok := g.consts[t]; ok && prev != u {
			return fmt.Errorf("operator %d %s: %w: constant %q is shared with operator %d in another role", oi, code, ErrUnsupported, g.sg.Tensors[t].Name, prev.op)
		}
		g.consts[t] = u
		return nil
	}
	switch code {
	case tflite.OpFullyConnected, tflite.OpConv2D, tflite.OpDepthwiseConv2D:
		if len(in) < 2 {
			return fmt.Errorf("operator %d %s: %w: no weights", oi, code, ErrUnsupported)
		}
		axis := 0
		if code == tflite.OpDepthwiseConv2D {
			axis = 3
		}
		if w := in[1]; w < 0 || len(g.sg.Tensors[w].Shape) <= axis {
			return fmt.Errorf("operator %d %s: %w: weights of rank < %d", oi, code, ErrUnsupported, axis+1)
		}
		if err := setConst(in[1], constUse{role: roleWeight, axis: axis, op: oi}); err != nil {
			return err
		}
		if len(in) > 2 {
			if err := setConst(in[2], constUse{role: roleBias, op: oi}); err != nil {
				return err
			}
		}
	case tflite.OpAveragePool2D, tflite.OpMaxPool2D, tflite.OpReshape, tflite.OpSqueeze, tflite.OpPad:
		g.union(in[0], out)
	case tflite.OpConcatenation:
		for _, t := range in {
			if err := setConst(t, constUse{role: roleOther, op: -1}); err != nil {
				return err
			}
			if t >= 0 {
				// An input with fixed parameters (a SOFTMAX, LOGISTIC or TANH
				// output) keeps them; build requantizes it in front of the
				// concatenation (requantizeConcatInputs).
				if _, fx := g.fixed[t]; fx {
					continue
				}
				g.union(t, out)
			}
		}
	case tflite.OpSoftmax, tflite.OpLogistic:
		g.fixed[out] = fixedParams{scale: 1.0 / 256, zp: -128, op: code.String()}
	case tflite.OpTanh:
		g.fixed[out] = fixedParams{scale: 1.0 / 128, zp: 0, op: code.String()}
	case tflite.OpAdd, tflite.OpSub, tflite.OpMul:
		for _, t := range in {
			if err := setConst(t, constUse{role: roleOther, op: -1}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *graph) find(t int) int {
	for g.parent[t] != t {
		g.parent[t] = g.parent[g.parent[t]]
		t = g.parent[t]
	}
	return t
}

func (g *graph) union(a, b int) { g.parent[g.find(a)] = g.find(b) }

type params struct {
	scale float32
	zp    int64
}

// assign chooses the scale and zero point of every activation and of the
// per-tensor constants, group by group.
func (g *graph) assign(ranges map[int]Range) (map[int]params, error) {
	type group struct {
		r      Range
		has    bool
		fixed  *fixedParams
		member int
	}
	groups := map[int]*group{}
	get := func(t int) *group {
		root := g.find(t)
		if groups[root] == nil {
			groups[root] = &group{member: t}
		}
		return groups[root]
	}
	widen := func(gr *group, r Range) {
		if !gr.has {
			gr.r, gr.has = r, true
			return
		}
		gr.r.Min, gr.r.Max = min(gr.r.Min, r.Min), max(gr.r.Max, r.Max)
	}
	members := append([]int(nil), g.activations...)
	for _, t := range sortedKeys(g.consts) {
		if g.consts[t].role == roleOther {
			members = append(members, t)
		}
	}
	for _, t := range members {
		gr := get(t)
		if fp, ok := g.fixed[t]; ok {
			if gr.fixed != nil && *gr.fixed != fp {
				return nil, fmt.Errorf("%w: tensors %q and %q must share quantization but have fixed, different scales",
					ErrUnsupported, g.sg.Tensors[gr.member].Name, g.sg.Tensors[t].Name)
			}
			gr.fixed = &fp
		}
		if g.isConst[t] {
			vals, err := tflite.Float32s(g.m.Buffers[g.sg.Tensors[t].Buffer])
			if err != nil {
				return nil, err
			}
			r := Range{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
			for _, v := range vals {
				r.Min, r.Max = min(r.Min, v), max(r.Max, v)
			}
			if len(vals) > 0 {
				widen(gr, r)
			}
		} else if r, ok := ranges[t]; ok {
			widen(gr, r)
		}
	}
	out := map[int]params{}
	for _, t := range members {
		gr := get(t)
		switch {
		case gr.fixed != nil:
			out[t] = params{gr.fixed.scale, gr.fixed.zp}
		case gr.has:
			s, zp := ActivationParams(gr.r)
			out[t] = params{s, zp}
		default:
			return nil, fmt.Errorf("tensor %d %q: %w (give calibration rows, or store min/max in the model)", t, g.sg.Tensors[t].Name, ErrNoRange)
		}
	}
	return out, nil
}
