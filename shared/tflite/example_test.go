package tflite_test

import (
	"fmt"
	"log"

	"github.com/megapipe/mega/shared/tflite"
)

// Build a one-layer model, encode it, and read it back.
func Example() {
	b := tflite.NewBuilder("example")
	x := b.AddActivation("x", tflite.Float32, []int{1, 2}, nil)
	w := b.AddConstFloat32("w", []int{3, 2}, []float32{1, 0, 0, 1, 1, 1})
	bias := b.AddConstFloat32("b", []int{3}, []float32{0, 0, -1})
	y := b.AddActivation("y", tflite.Float32, []int{1, 3}, nil)
	b.AddOperator(tflite.OpFullyConnected, 1, []int{x, w, bias}, []int{y},
		&tflite.FullyConnectedOptions{Activation: tflite.ActRelu})
	b.SetInputs(x)
	b.SetOutputs(y)
	m, err := b.Model()
	if err != nil {
		log.Fatal(err)
	}
	data, err := m.Marshal()
	if err != nil {
		log.Fatal(err)
	}
	back, err := tflite.Parse(data)
	if err != nil {
		log.Fatal(err)
	}
	sg := back.Subgraphs[0]
	for _, op := range sg.Operators {
		oc := back.OperatorCodes[op.OpcodeIndex]
		fmt.Println(oc.Builtin, "v", oc.Version, "activation", tflite.FusedActivation(op.Options))
	}
	for _, i := range sg.Outputs {
		t := sg.Tensors[i]
		fmt.Println("output", t.Name, t.Type, t.Shape)
	}
	fmt.Println("signature", back.SignatureDefs[0].Key)
	// Output:
	// FULLY_CONNECTED v 1 activation RELU
	// output y FLOAT32 [1 3]
	// signature serving_default
}
