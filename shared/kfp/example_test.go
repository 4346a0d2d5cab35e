package kfp_test

import (
	"fmt"
	"sort"

	"github.com/megapipe/mega/shared/kfp"
)

func ExamplePipeline() {
	spec, err := kfp.Pipeline(kfp.Options{Image: "us-central1-docker.pkg.dev/my-project/my-project/mega:latest"})
	if err != nil {
		fmt.Println(err)
		return
	}
	var tasks []string
	for name, t := range spec.Root.DAG.Tasks {
		tasks = append(tasks, fmt.Sprintf("%s after %v", name, t.DependentTasks))
	}
	sort.Strings(tasks)
	fmt.Println(spec.SchemaVersion)
	for _, t := range tasks {
		fmt.Println(t)
	}
	// Output:
	// 2.1.0
	// distill after [featurize train]
	// featurize after []
	// quantize after [distill featurize]
	// train after [featurize]
}
