package quant_test

import (
	"context"
	"fmt"
	"log"

	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/tflite"
)

// Quantize a float model with calibration rows; the result keeps float
// inputs and outputs.
func ExampleQuantize() {
	b := tflite.NewBuilder("example")
	x := b.AddActivation("x", tflite.Float32, []int{1, 2}, nil)
	w := b.AddConstFloat32("w", []int{3, 2}, []float32{1, -1, 0.5, 2, -0.25, 0.75})
	bias := b.AddConstFloat32("b", []int{3}, []float32{0.1, 0, -0.1})
	logits := b.AddActivation("logits", tflite.Float32, []int{1, 3}, nil)
	probs := b.AddActivation("probs", tflite.Float32, []int{1, 3}, nil)
	b.AddOperator(tflite.OpFullyConnected, 1, []int{x, w, bias}, []int{logits}, &tflite.FullyConnectedOptions{})
	b.AddOperator(tflite.OpSoftmax, 1, []int{logits}, []int{probs}, &tflite.SoftmaxOptions{Beta: 1})
	b.SetInputs(x)
	b.SetOutputs(probs)
	m, err := b.Model()
	if err != nil {
		log.Fatal(err)
	}
	calib := quant.Rows([][]float32{{0, 1}, {1, 0}, {-1, 2}, {2, -2}})
	q, rep, err := quant.Quantize(context.Background(), m, calib, quant.Options{IO: quant.FloatIO})
	if err != nil {
		log.Fatal(err)
	}
	sg := q.Subgraphs[0]
	for _, op := range sg.Operators {
		oc := q.OperatorCodes[op.OpcodeIndex]
		out := sg.Tensors[op.Outputs[0]]
		fmt.Printf("%s v%d -> %s\n", oc.Builtin, oc.Version, out.Type)
	}
	fmt.Println("calibration samples:", rep.Samples)
	// Output:
	// QUANTIZE v1 -> INT8
	// FULLY_CONNECTED v4 -> INT8
	// SOFTMAX v2 -> INT8
	// DEQUANTIZE v2 -> FLOAT32
	// calibration samples: 4
}
