package gcs_test

import (
	"context"
	"fmt"
	"io"

	"github.com/megapipe/mega/emulators/gcs"
)

func ExampleStart() {
	ctx := context.Background()
	s, err := gcs.Start(ctx, gcs.Options{Buckets: []string{"demo-raw"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Stop(ctx)
	client, err := s.Client(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	w := client.Bucket("demo-raw").Object("iris/a.csv").NewWriter(ctx)
	io.WriteString(w, "x,label\n1,a\n")
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}
	attrs, err := client.Bucket("demo-raw").Object("iris/a.csv").Attrs(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(attrs.Name, attrs.Size)
	// Output: iris/a.csv 12
}
