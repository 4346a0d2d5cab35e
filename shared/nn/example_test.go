package nn_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/megapipe/mega/shared/nn"
)

// Train a teacher on a toy binary problem (is x0 + x1 > 10?), distill a
// smaller student, prune half its weights and export it.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	split := func(n int) nn.Split {
		var s nn.Split
		for range n {
			a, b := 10*rng.Float64(), 10*rng.Float64()
			s.X = append(s.X, []float64{a, b})
			y := 0.0
			if a+b > 10 {
				y = 1
			}
			s.Y = append(s.Y, y)
		}
		return s
	}
	data := nn.Data{Train: split(800), Val: split(200)}
	test := split(200)
	ctx := context.Background()

	teacher, _, err := nn.Train(ctx, data, nn.Config{Task: nn.Binary, Hidden: []int{32, 16}, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	student, _, err := nn.Distill(ctx, teacher, data, nn.DistillConfig{Config: nn.Config{Hidden: []int{8}, Seed: 2}})
	if err != nil {
		fmt.Println(err)
		return
	}
	pruned, rep, err := nn.Prune(ctx, student, data, nn.PruneConfig{Sparsity: 0.5, Teacher: teacher, Seed: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	accuracy := func(m *nn.Model) float64 {
		c, _ := m.Classify(test.X)
		right := 0
		for i := range c {
			if float64(c[i]) == test.Y[i] {
				right++
			}
		}
		return float64(right) / float64(len(c))
	}
	fmt.Printf("teacher: %d parameters, accuracy above 0.95: %v\n", teacher.ParamCount(), accuracy(teacher) > 0.95)
	fmt.Printf("pruned student: %d of %d parameters nonzero, sparsity %.2f, accuracy above 0.95: %v\n",
		rep.Nonzero, rep.Params, rep.Sparsity, accuracy(pruned) > 0.95)
	model, err := pruned.TFLite()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("tflite file identifier:", string(model[4:8]))
	// Output:
	// teacher: 641 parameters, accuracy above 0.95: true
	// pruned student: 21 of 33 parameters nonzero, sparsity 0.50, accuracy above 0.95: true
	// tflite file identifier: TFL3
}
