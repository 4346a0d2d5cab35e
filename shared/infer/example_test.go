package infer_test

import (
	"fmt"

	"github.com/megapipe/mega/shared/infer"
	"github.com/megapipe/mega/shared/tflite"
)

// A two-unit FULLY_CONNECTED layer with RELU, built in memory and run.
func Example() {
	b := tflite.NewBuilder("example")
	x := b.AddActivation("x", tflite.Float32, []int{1, 3}, nil)
	w := b.AddConstFloat32("w", []int{2, 3}, []float32{1, 2, 3, -1, -1, -1})
	bias := b.AddConstFloat32("b", []int{2}, []float32{0.5, 0})
	y := b.AddActivation("y", tflite.Float32, []int{1, 2}, nil)
	b.AddOperator(tflite.OpFullyConnected, 1, []int{x, w, bias}, []int{y},
		&tflite.FullyConnectedOptions{Activation: tflite.ActRelu})
	b.SetInputs(x)
	b.SetOutputs(y)
	m, err := b.Model()
	if err != nil {
		fmt.Println(err)
		return
	}
	ip, err := infer.New(m, infer.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	copy(ip.Input(0).Float32s(), []float32{1, 1, 1})
	if err := ip.Invoke(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ip.Output(0).Shape, ip.Output(0).Float32s())
	// Output: [1 2] [6.5 0]
}
