package quant

import (
	"fmt"

	"github.com/megapipe/mega/shared/tflite"
)

// What the TensorFlow converter writes beyond the hand-built models:
//
//   - Deduplicated constants: the converter stores one constant once even
//     when two operators read it in different roles (a weight of one op and
//     a bias or operand of another). splitSharedConsts gives every extra
//     (operator, input) use of a float constant its own tensor over the same
//     buffer, so each use is quantized for its role.
//   - Shape subgraphs: operators whose outputs are not float (SHAPE,
//     STRIDED_SLICE or PACK of int32 shapes, REDUCE_PROD, integer ADD, LESS,
//     SELECT_V2, ...) are kept as they are, provided they do not read the
//     values of a float activation (SHAPE reads only its shape).
//   - More float operators, each with the int8 rule of TFLite's kernels:
//     data-movement ops (TRANSPOSE, EXPAND_DIMS, STRIDED_SLICE, SLICE,
//     GATHER, SPLIT, TILE, RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR,
//     MAXIMUM, MINIMUM, REDUCE_MAX) keep one scale and zero point between
//     input and output; elementwise functions (HARD_SWISH, LEAKY_RELU, ELU,
//     GELU, RSQRT, SQUARED_DIFFERENCE, NEG, ABS), BATCH_MATMUL and
//     TRANSPOSE_CONV (weights per channel along 0, bias int32 s_in*s_w[c]) get their output's
//     own calibrated range.
//
//   - A CONCATENATION input with fixed parameters (a SOFTMAX, LOGISTIC or
//     TANH output) gets an int8 QUANTIZE (requantization) in front instead
//     of forcing its parameters on the other inputs.
//   - Integer graph inputs (token ids for GATHER) stay INT32; their
//     calibration values must be whole numbers.
//
// What it cannot quantize it names by operator index, operator and tensor.

// tiedOps share one quantization between their data input(s) and outputs.
var tiedOps = map[tflite.BuiltinOperator]bool{
	tflite.OpTranspose: true, tflite.OpExpandDims: true, tflite.OpStridedSlice: true, tflite.OpSlice: true,
	tflite.OpGather: true, tflite.OpSplit: true, tflite.OpTile: true, tflite.OpResizeNearestNeighbor: true,
	tflite.OpResizeBilinear: true, tflite.OpMaximum: true, tflite.OpMinimum: true, tflite.OpReduceMax: true,
	tflite.OpPack: true,
}

// ownRangeOps produce an output with its own calibrated range.
var ownRangeOps = map[tflite.BuiltinOperator]bool{
	tflite.OpTransposeConv: true,
	tflite.OpHardSwish:     true, tflite.OpLeakyRelu: true, tflite.OpElu: true, tflite.OpGelu: true, tflite.OpRsqrt: true,
	tflite.OpSquaredDifference: true, tflite.OpBatchMatMul: true, tflite.OpNeg: true, tflite.OpAbs: true,
}

// int8Versions are the operator versions TFLite's op_version rules give the
// int8 form of the operators of this file.
var int8Versions = map[tflite.BuiltinOperator]int{
	tflite.OpTranspose: 2, tflite.OpExpandDims: 1, tflite.OpStridedSlice: 2, tflite.OpSlice: 2, tflite.OpGather: 2,
	tflite.OpSplit: 2, tflite.OpTile: 1, tflite.OpResizeNearestNeighbor: 2, tflite.OpResizeBilinear: 2,
	tflite.OpMaximum: 2, tflite.OpMinimum: 2, tflite.OpReduceMax: 2, tflite.OpPack: 2, tflite.OpHardSwish: 1,
	tflite.OpLeakyRelu: 2, tflite.OpElu: 1, tflite.OpGelu: 2, tflite.OpRsqrt: 2, tflite.OpSquaredDifference: 2,
	tflite.OpBatchMatMul: 1, tflite.OpNeg: 1, tflite.OpAbs: 2, tflite.OpTransposeConv: 3, tflite.OpArgMax: 2,
}

// dataInput returns the index of an operator's float data input.
func dataInput(code tflite.BuiltinOperator) int {
	switch code {
	case tflite.OpSplit:
		return 1
	case tflite.OpTransposeConv:
		return 2
	}
	return 0
}

// floatOut reports whether any output of op is float32.
func floatOut(sg *tflite.Subgraph, op tflite.Operator) bool {
	for _, t := range op.Outputs {
		if t >= 0 && sg.Tensors[t].Type == tflite.Float32 {
			return true
		}
	}
	return false
}

// checkPassThrough accepts an operator without float outputs (shape
// arithmetic) when it reads no float activation's values.
func (g *graph) checkPassThrough(oi int, code tflite.BuiltinOperator, op tflite.Operator) error {
	if code == tflite.OpShape {
		return nil
	}
	if code == tflite.OpArgMax {
		// ARG_MAX has an int8 kernel: its float input becomes int8, the
		// index output stays as it is.
		return nil
	}
	for _, t := range op.Inputs {
		if t >= 0 && g.sg.Tensors[t].Type == tflite.Float32 && !g.isConst[t] {
			return fmt.Errorf("operator %d %s: %w: computes %s output %q from float tensor %q (no int8 form here)", oi, code,
				ErrUnsupported, g.sg.Tensors[op.Outputs[0]].Type, g.sg.Tensors[op.Outputs[0]].Name, g.sg.Tensors[t].Name)
		}
	}
	return nil
}

// classifyMore handles the operators of tiedOps and ownRangeOps, and
// TRANSPOSE_CONV (weights [OC, KH, KW, IC] per channel along 0, input 2,
// optional bias 3).
func (g *graph) classifyMore(oi int, code tflite.BuiltinOperator, op tflite.Operator) error {
	if code == tflite.OpTransposeConv {
		in := op.Inputs
		if len(in) < 3 || in[1] < 0 || !g.isConst[in[1]] || len(g.sg.Tensors[in[1]].Shape) != 4 {
			return fmt.Errorf("operator %d %s: %w: weights must be a constant rank-4 tensor", oi, code, ErrUnsupported)
		}
		uses := []struct {
			t int
			u constUse
		}{{in[1], constUse{role: roleWeight, axis: 0, op: oi}}}
		if len(in) > 3 && in[3] >= 0 {
			if !g.isConst[in[3]] {
				return fmt.Errorf("operator %d %s: %w: bias %q must be a constant", oi, code, ErrUnsupported, g.sg.Tensors[in[3]].Name)
			}
			uses = append(uses, struct {
				t int
				u constUse
			}{in[3], constUse{role: roleBias, op: oi}})
		}
		for _, x := range uses {
			if g.sg.Tensors[x.t].Type != tflite.Float32 {
				continue
			}
			if prev, ok := g.consts[x.t]; ok && prev != x.u {
				return fmt.Errorf("operator %d %s: %w: constant %q is shared with operator %d in another role", oi, code, ErrUnsupported, g.sg.Tensors[x.t].Name, prev.op)
			}
			g.consts[x.t] = x.u
		}
		return nil
	}
	if !tiedOps[code] {
		return nil
	}
	var data []int
	switch code {
	case tflite.OpMaximum, tflite.OpMinimum, tflite.OpPack:
		data = op.Inputs
	default:
		data = []int{op.Inputs[dataInput(code)]}
	}
	for _, t := range data {
		if t < 0 || g.sg.Tensors[t].Type != tflite.Float32 {
			continue
		}
		if g.isConst[t] {
			if prev, ok := g.consts[t]; ok && prev.role != roleOther {
				return fmt.Errorf("operator %d %s: %w: constant %q is shared with operator %d in another role", oi, code, ErrUnsupported, g.sg.Tensors[t].Name, prev.op)
			}
			g.consts[t] = constUse{role: roleOther, op: -1}
		}
		for _, o := range op.Outputs {
			g.union(t, o)
		}
	}
	return nil
}

// splitSharedConsts returns a copy of m in which every float constant read
// by more than one (operator, input) has one tensor per use, and how many
// tensors it added.
func splitSharedConsts(m *tflite.Model) (*tflite.Model, int, error) {
	raw, err := m.Marshal()
	if err != nil {
		return nil, 0, err
	}
	c, err := tflite.Parse(raw)
	if err != nil {
		return nil, 0, err
	}
	added := 0
	for si := range c.Subgraphs {
		sg := &c.Subgraphs[si]
		seen := map[int]bool{}
		for oi := range sg.Operators {
			op := &sg.Operators[oi]
			for j, t := range op.Inputs {
				if t < 0 {
					continue
				}
				tn := sg.Tensors[t]
				isConst := tn.Buffer > 0 && tn.Buffer < len(c.Buffers) && len(c.Buffers[tn.Buffer]) > 0
				if !isConst || tn.Type != tflite.Float32 {
					continue
				}
				if !seen[t] {
					seen[t] = true
					continue
				}
				dup := tn
				dup.Name = fmt.Sprintf("%s/use%d", tn.Name, oi)
				dup.Shape = append([]int(nil), tn.Shape...)
				sg.Tensors = append(sg.Tensors, dup)
				op.Inputs[j] = len(sg.Tensors) - 1
				added++
			}
		}
	}
	return c, added, nil
}

// quantizeTransposeConvBias turns the float bias of every TRANSPOSE_CONV
// into int32 with scale s_in*s_w[c] (as the convolutions' biases).
func quantizeTransposeConvBias(q *tflite.Model, wScales map[int][]float32, done map[int]bool, rep *Report) error {
	sg := &q.Subgraphs[0]
	for oi := range sg.Operators {
		op := &sg.Operators[oi]
		if q.OperatorCodes[op.OpcodeIndex].Builtin != tflite.OpTransposeConv || len(op.Inputs) < 4 || op.Inputs[3] < 0 {
			continue
		}
		bt := op.Inputs[3]
		if done[bt] {
			return fmt.Errorf("bias %q: %w: shared by two operators", sg.Tensors[bt].Name, ErrUnsupported)
		}
		done[bt] = true
		tn := &sg.Tensors[bt]
		if tn.Type != tflite.Float32 {
			continue
		}
		b, err := tflite.Float32s(q.Buffers[tn.Buffer])
		if err != nil {
			return fmt.Errorf("bias %q: %w", tn.Name, err)
		}
		ws := wScales[op.Inputs[1]]
		if len(ws) != len(b) && len(ws) != 1 {
			return fmt.Errorf("bias %q: %w: %d values for %d weight scales", tn.Name, ErrUnsupported, len(b), len(ws))
		}
		if len(ws) == 1 {
			ws = slicesRepeat(ws[0], len(b))
		}
		in := sg.Tensors[op.Inputs[2]].Quantization.Scale[0]
		qb, scales, clamped := QuantizeBias(b, in, ws)
		rep.ClampedBias += clamped
		tn.Type = tflite.Int32
		tn.Buffer = addBuffer(q, tflite.Int32Bytes(qb))
		tn.Quantization = &tflite.Quantization{Scale: scales, ZeroPoint: make([]int64, len(scales))}
	}
	return nil
}

func slicesRepeat(v float32, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// requantizeConcatInputs puts an int8 QUANTIZE (requantization) in front of
// every CONCATENATION input whose quantization differs from the output's,
// as TFLite's int8 CONCATENATION requires equal quantization (the converter
// does the same).
func requantizeConcatInputs(q *tflite.Model) {
	sg := &q.Subgraphs[0]
	var ops []tflite.Operator
	for _, op := range sg.Operators {
		if q.OperatorCodes[op.OpcodeIndex].Builtin == tflite.OpConcatenation {
			out := sg.Tensors[op.Outputs[0]]
			op.Inputs = append([]int(nil), op.Inputs...)
			for j, t := range op.Inputs {
				if t < 0 {
					continue
				}
				in := sg.Tensors[t]
				if in.Type != tflite.Int8 || out.Quantization == nil || in.Quantization == nil ||
					(in.Quantization.Scale[0] == out.Quantization.Scale[0] && in.Quantization.ZeroPoint[0] == out.Quantization.ZeroPoint[0]) {
					continue
				}
				nt := in
				nt.Name = in.Name + "/requantized"
				nt.Shape = append([]int(nil), in.Shape...)
				nt.ShapeSignature = append([]int(nil), in.ShapeSignature...)
				if len(nt.ShapeSignature) == 0 {
					nt.ShapeSignature = nil
				}
				nt.Buffer = 0
				nt.Quantization = &tflite.Quantization{Scale: []float32{out.Quantization.Scale[0]}, ZeroPoint: []int64{out.Quantization.ZeroPoint[0]}}
				sg.Tensors = append(sg.Tensors, nt)
				idx := len(sg.Tensors) - 1
				ops = append(ops, tflite.Operator{OpcodeIndex: opcode(q, tflite.OpQuantize, 2), Inputs: []int{t}, Outputs: []int{idx},
					Options: &tflite.QuantizeOptions{}})
				op.Inputs[j] = idx
			}
		}
		ops = append(ops, op)
	}
	sg.Operators = ops
}
