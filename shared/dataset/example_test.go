package dataset_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/megapipe/mega/shared/dataset"
)

func source(s string) dataset.Source {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

func Example() {
	// The first drop of a dataset: its schema is inferred.
	first, err := dataset.Ingest(source("height,color,label\n1.5,red,0\n2.5,blue,1\n"),
		dataset.IngestOptions{Name: "plants/a.csv"}, io.Discard, io.Discard)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("schema: task %s, classes %v\n", first.Schema.Task, first.Schema.Classes())

	// A later drop is validated against it.
	var clean, quarantine bytes.Buffer
	res, err := dataset.Ingest(source("color,height,label\nred,2.0,1\nred,abc,1\ngreen,1.7,0\n"),
		dataset.IngestOptions{Name: "plants/b.csv", Schema: first.Schema}, &clean, &quarantine)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d rows: %d clean, %d quarantined\n", res.Rows, res.Clean, res.Bad)
	fmt.Print(quarantine.String())

	frame, err := dataset.Load(&clean, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(frame.Columns[0].Name, frame.Columns[0].Num, "classes", frame.Class)
	// Output:
	// schema: task classification, classes [0 1]
	// 3 rows: 1 clean, 2 quarantined
	// {"line":3,"column":"height","reason":"\"abc\" is not a number","fields":["red","abc","1"]}
	// {"line":4,"column":"color","reason":"unknown category \"green\"","fields":["green","1.7","0"]}
	// height [2] classes [1]
}
