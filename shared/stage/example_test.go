package stage_test

import (
	"context"
	"fmt"

	"github.com/megapipe/mega/shared/stage"
)

func ExampleStage() {
	staged, err := stage.Stage(context.Background(), stage.Options{ModuleDir: ".", OutDir: "dist/functions", Only: []string{"ingest"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range staged {
		fmt.Println(s.Name, s.EntryPoint, s.Dir)
	}
}
