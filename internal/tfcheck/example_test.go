package tfcheck_test

import (
	"fmt"

	"github.com/megapipe/mega/internal/tfcheck"
)

func ExampleCheckFiles() {
	schema := &tfcheck.Schema{
		Provider: "google",
		Version:  "example",
		Resources: map[string]tfcheck.Block{
			"google_pubsub_topic": {"name": {Required: true}, "labels": {}},
		},
	}
	src := []byte("resource \"google_pubsub_topic\" \"ready\" {\n  nmae = \"dataset-ready\"\n}\n")
	r := tfcheck.CheckFiles(map[string][]byte{"main.tf": src}, schema)
	fmt.Println(r.Checked)
	for _, p := range r.Problems {
		fmt.Println(p)
	}
	// Output:
	// [resource google_pubsub_topic.ready]
	// main.tf:1,40: missing required argument "name" in resource google_pubsub_topic.ready
	// main.tf:2,3: unsupported argument "nmae" in resource google_pubsub_topic.ready: not in the schema (misspelled, or an attribute the provider only computes); did you mean "name"?
}
