package infer

import "github.com/megapipe/mega/shared/tflite"

// fold computes an operator once, at prepare time, when its output does not
// depend on the graph inputs' values: every input is constant (a weight, or
// the output of an earlier folded op), or the op is SHAPE of a tensor whose
// shape is static. That is how the shape arithmetic Keras' Flatten emits
// (SHAPE, STRIDED_SLICE, PACK feeding RESHAPE) and the DEQUANTIZE of FLOAT16
// or int8 weights cost nothing per inference: their outputs become constants
// for the ops that read them. After ResizeInput they are folded again with the
// new shapes. Graph outputs and variable tensors are never folded.
func (ip *Interpreter) fold(n *node) error {
	n.folded = false
	foldable := n.op == tflite.OpShape
	if !foldable {
		foldable = len(n.in) > 0
		for _, t := range n.in {
			if t >= 0 && !ip.tensors[t].isConst {
				foldable = false
				break
			}
		}
	}
	if !foldable {
		return nil
	}
	for _, t := range n.out {
		if ip.tensors[t].isVar || isIn(ip.outputs, t) {
			return nil
		}
	}
	for _, t := range n.out {
		y := ip.tensors[t]
		sz, ok := tensorBytes(y)
		if !ok || sz > ip.maxArena() {
			return errf(ErrInvalid, "folded output %d of shape %v", t, y.Shape)
		}
		y.data = alignedBytes(max(sz, 1))[:sz]
		y.isConst = true
	}
	n.k.eval(ip, n)
	n.folded = true
	return nil
}

func isIn(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
