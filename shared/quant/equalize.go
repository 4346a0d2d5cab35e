package quant

import (
	"fmt"
	"math"

	"github.com/megapipe/mega/shared/tflite"
)

// equalizeRatio is how much wider the widest input feature's range must be
// than the narrowest one for input equalization to apply.
const equalizeRatio = 4

// equalization rescales graph inputs feature by feature in float before
// quantization. A model whose input features have very different ranges
// (raw feature values with the normalization folded into the first
// FULLY_CONNECTED, as shared/nn exports) cannot be quantized well with the
// one scale an int8 tensor has: small features round to zero. For an input
// x[..., F] read only as the data input of FULLY_CONNECTED operators, the
// quantizer adds two float ops, x' = x*inv + off with per-feature inv =
// 2/(max_i-min_i) and off = -(max_i+min_i)/(max_i-min_i), so that every
// feature of x' spans [-1, 1], and rewrites each FC's weights and bias so
// that it computes the same function of x': W'[o,i] = W[o,i]/inv_i and
// b'[o] = b[o] - sum_i W'[o,i]*off_i. Then x' is quantized (QUANTIZE) as
// usual.
type equalization struct {
	g        *graph
	inputs   []eqInput
	features map[int][]Range
}

type eqInput struct {
	x, xn         int // original input tensor, normalized tensor (new)
	inv, off, mid int // constant tensors and the MUL output (new)
	name          string
}

// planEqualization returns the equalization for the eligible inputs, or nil.
func planEqualization(g *graph, features map[int][]Range) (*equalization, error) {
	eq := &equalization{g: g}
	consumers := map[int][]int{}
	for oi, op := range g.sg.Operators {
		for _, t := range op.Inputs {
			if t >= 0 {
				consumers[t] = append(consumers[t], oi)
			}
		}
	}
	weightUses := map[int]int{}
	for _, op := range g.sg.Operators {
		if len(op.Inputs) > 1 && op.Inputs[1] >= 0 {
			weightUses[op.Inputs[1]]++
		}
		if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
			weightUses[op.Inputs[2]]++
		}
	}
	for _, x := range g.sg.Inputs {
		fr := features[x]
		if len(fr) < 2 || slicesContains(g.sg.Outputs, x) {
			continue
		}
		ok := len(consumers[x]) > 0
		for _, oi := range consumers[x] {
			op := g.sg.Operators[oi]
			code := g.m.OperatorCodes[op.OpcodeIndex].Builtin
			fo, _ := op.Options.(*tflite.FullyConnectedOptions)
			if code != tflite.OpFullyConnected || op.Inputs[0] != x || slicesContains(op.Inputs[1:], x) ||
				(fo != nil && fo.KeepNumDims) || weightUses[op.Inputs[1]] != 1 ||
				(len(op.Inputs) > 2 && op.Inputs[2] >= 0 && weightUses[op.Inputs[2]] != 1) ||
				len(g.sg.Tensors[op.Inputs[1]].Shape) != 2 || g.sg.Tensors[op.Inputs[1]].Shape[1] != len(fr) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		narrow, wide := math.Inf(1), 0.0
		for _, r := range fr {
			w := float64(r.Max) - float64(r.Min)
			if w > 0 {
				narrow, wide = math.Min(narrow, w), math.Max(wide, w)
			}
		}
		if wide == 0 || wide < equalizeRatio*narrow {
			continue
		}
		eq.inputs = append(eq.inputs, eqInput{x: x, name: g.sg.Tensors[x].Name})
	}
	if len(eq.inputs) == 0 {
		return nil, nil
	}
	eq.features = features
	return eq, nil
}

func slicesContains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (eq *equalization) names() []string {
	var out []string
	for _, in := range eq.inputs {
		out = append(out, in.name)
	}
	return out
}

// apply rewrites a copy of the float model: each equalized input x is
// replaced, as the graph input and as the FCs' data input, by a new tensor
// x' whose range is [-1, 1]; the FCs' weights and biases absorb the
// rescaling. It returns the graph of the rewritten model and adds x' to ranges.
func (eq *equalization) apply(ranges map[int]Range) (*graph, error) {
	raw, err := eq.g.m.Marshal()
	if err != nil {
		return nil, err
	}
	fm, err := tflite.Parse(raw)
	if err != nil {
		return nil, err
	}
	sg := &fm.Subgraphs[0]
	for k := range eq.inputs {
		in := &eq.inputs[k]
		x := sg.Tensors[in.x]
		fr := eq.features[in.x]
		inv := make([]float32, len(fr))
		off := make([]float32, len(fr))
		for i, r := range fr {
			lo, hi := float64(r.Min), float64(r.Max)
			if hi > lo {
				inv[i] = float32(2 / (hi - lo))
				off[i] = float32(-(hi + lo) / (hi - lo))
			} else {
				inv[i], off[i] = 1, float32(-lo)
			}
		}
		add := func(t tflite.Tensor) int {
			sg.Tensors = append(sg.Tensors, t)
			return len(sg.Tensors) - 1
		}
		f := len(fr)
		in.inv = add(tflite.Tensor{Name: x.Name + "/equalize_scale", Type: tflite.Float32, Shape: []int{f},
			Buffer: addBuffer(fm, tflite.Float32Bytes(inv))})
		in.off = add(tflite.Tensor{Name: x.Name + "/equalize_offset", Type: tflite.Float32, Shape: []int{f},
			Buffer: addBuffer(fm, tflite.Float32Bytes(off))})
		in.mid = add(tflite.Tensor{Name: x.Name + "/equalize_mul", Type: tflite.Float32, Shape: append([]int(nil), x.Shape...),
			ShapeSignature: append([]int(nil), x.ShapeSignature...), HasRank: x.HasRank})
		in.xn = add(tflite.Tensor{Name: x.Name + "/equalized", Type: tflite.Float32, Shape: append([]int(nil), x.Shape...),
			ShapeSignature: append([]int(nil), x.ShapeSignature...), HasRank: x.HasRank})
		for _, t := range []int{in.mid, in.xn} {
			if len(sg.Tensors[t].ShapeSignature) == 0 {
				sg.Tensors[t].ShapeSignature = nil
			}
		}
		ranges[in.xn] = Range{Min: -1, Max: 1}
		for oi := range sg.Operators {
			op := &sg.Operators[oi]
			if op.Inputs[0] != in.x {
				continue
			}
			op.Inputs[0] = in.xn
			wt := &sg.Tensors[op.Inputs[1]]
			w, err := tflite.Float32s(fm.Buffers[wt.Buffer])
			if err != nil {
				return nil, fmt.Errorf("equalize %q: %w", wt.Name, err)
			}
			outs := wt.Shape[0]
			bias := make([]float64, outs)
			if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
				b, err := tflite.Float32s(fm.Buffers[sg.Tensors[op.Inputs[2]].Buffer])
				if err != nil || len(b) != outs {
					return nil, fmt.Errorf("equalize: bias of %q: %d values for %d outputs (%v)", wt.Name, len(b), outs, err)
				}
				for o, v := range b {
					bias[o] = float64(v)
				}
			}
			nw := make([]float32, len(w))
			nb := make([]float32, outs)
			for o := 0; o < outs; o++ {
				acc := bias[o]
				for i := 0; i < f; i++ {
					v := w[o*f+i] / inv[i]
					nw[o*f+i] = v
					acc -= float64(v) * float64(off[i])
				}
				nb[o] = float32(acc)
			}
			wt.Buffer = addBuffer(fm, tflite.Float32Bytes(nw))
			if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
				sg.Tensors[op.Inputs[2]].Buffer = addBuffer(fm, tflite.Float32Bytes(nb))
			} else {
				bt := add(tflite.Tensor{Name: wt.Name + "/equalize_bias", Type: tflite.Float32, Shape: []int{outs},
					Buffer: addBuffer(fm, tflite.Float32Bytes(nb))})
				op.Inputs = append(op.Inputs[:min(len(op.Inputs), 2)], bt)
			}
		}
		for i, t := range sg.Inputs {
			if t == in.x {
				sg.Inputs[i] = in.xn
			}
		}
	}
	compactBuffers(fm)
	if err := fm.Validate(); err != nil {
		return nil, err
	}
	return newGraph(fm)
}

// splice puts the float rescaling ops in front of the quantized model and
// makes the original tensors its inputs again.
func (eq *equalization) splice(q *tflite.Model) {
	sg := &q.Subgraphs[0]
	var pre []tflite.Operator
	mul := opcode(q, tflite.OpMul, 1)
	add := opcode(q, tflite.OpAdd, 1)
	for _, in := range eq.inputs {
		pre = append(pre,
			tflite.Operator{OpcodeIndex: mul, Inputs: []int{in.x, in.inv}, Outputs: []int{in.mid}, Options: &tflite.MulOptions{}},
			tflite.Operator{OpcodeIndex: add, Inputs: []int{in.mid, in.off}, Outputs: []int{in.xn},
				Options: &tflite.AddOptions{PotScaleInt16: true}})
		for i, t := range sg.Inputs {
			if t == in.xn {
				sg.Inputs[i] = in.x
			}
		}
	}
	sg.Operators = append(pre, sg.Operators...)
}
