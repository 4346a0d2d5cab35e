package kfp

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/kfp/pipeline.yaml")

const (
	goldenPath  = "../../testdata/kfp/pipeline.yaml"
	goldenImage = "us-central1-docker.pkg.dev/megapipe-demo/megapipe-demo/mega:latest"
)

func TestGolden(t *testing.T) {
	spec, err := Pipeline(Options{Image: goldenImage})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := spec.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(goldenPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	// The golden file is what testdata/kfp/check_kfp.py loads with the KFP
	// SDK and parses into the PipelineSpec message.
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("compiled pipeline differs from %s (run with -update after checking it with check_kfp.py) (-want +got):\n%s", goldenPath, diff)
	}
}

var placeholder = regexp.MustCompile(`\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['([a-z_]+)'\](\.path)?\}\}`)

func TestPipelineStructure(t *testing.T) {
	spec, err := Pipeline(Options{Image: "img"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"components", "deploymentSpec", "pipelineInfo", "root", "schemaVersion", "sdkVersion"}, keys); diff != "" {
		t.Errorf("top-level keys (-want +got):\n%s", diff)
	}
	if spec.SchemaVersion != "2.1.0" {
		t.Errorf("schemaVersion %q", spec.SchemaVersion)
	}
	// The chain: each step depends on the one before (and quantize and
	// distill also on featurize, for features and calibration data).
	wantDeps := map[string][]string{
		"featurize": nil,
		"train":     {"featurize"},
		"distill":   {"featurize", "train"},
		"quantize":  {"distill", "featurize"},
	}
	gotDeps := map[string][]string{}
	for name, task := range spec.Root.DAG.Tasks {
		gotDeps[name] = task.DependentTasks
		comp := spec.Components[task.ComponentRef.Name]
		if comp == nil {
			t.Fatalf("task %s: no component %s", name, task.ComponentRef.Name)
		}
		// Every parameter binding names a pipeline parameter, and every
		// artifact binding a producer's output of the same type.
		for p, in := range task.Inputs.Parameters {
			if _, ok := spec.Root.InputDefinitions.Parameters[in.ComponentInputParameter]; !ok {
				t.Errorf("task %s: parameter %s from unknown pipeline parameter %s", name, p, in.ComponentInputParameter)
			}
		}
		for a, in := range task.Inputs.Artifacts {
			producer := spec.Components[spec.Root.DAG.Tasks[in.TaskOutputArtifact.ProducerTask].ComponentRef.Name]
			out, ok := producer.OutputDefinitions.Artifacts[in.TaskOutputArtifact.OutputArtifactKey]
			if !ok || out.ArtifactType != comp.InputDefinitions.Artifacts[a].ArtifactType {
				t.Errorf("task %s: artifact %s from %+v does not match a producer output", name, a, in.TaskOutputArtifact)
			}
		}
		exec, ok := spec.DeploymentSpec.Executors[comp.ExecutorLabel]
		if !ok {
			t.Fatalf("task %s: no executor %s", name, comp.ExecutorLabel)
		}
		if diff := cmp.Diff([]string{"/mega", "step", name}, exec.Container.Command); diff != "" {
			t.Errorf("task %s command (-want +got):\n%s", name, diff)
		}
		// Every placeholder refers to a declared input or output.
		used := 0
		for _, arg := range exec.Container.Args {
			for _, m := range placeholder.FindAllStringSubmatch(arg, -1) {
				used++
				defs := comp.InputDefinitions
				if m[1] == "outputs" {
					defs = comp.OutputDefinitions
				}
				var found bool
				if m[2] == "parameters" {
					_, found = defs.Parameters[m[3]]
				} else {
					_, found = defs.Artifacts[m[3]]
				}
				if !found {
					t.Errorf("task %s: placeholder %s names nothing declared", name, m[0])
				}
			}
			if strings.Contains(arg, "{{") && !placeholder.MatchString(arg) {
				t.Errorf("task %s: malformed placeholder in %q", name, arg)
			}
		}
		want := len(comp.InputDefinitions.Parameters) + len(comp.InputDefinitions.Artifacts)
		if comp.OutputDefinitions != nil {
			want += len(comp.OutputDefinitions.Artifacts)
		}
		if used != want {
			t.Errorf("task %s: %d placeholders, want one per input and output (%d)", name, used, want)
		}
	}
	if diff := cmp.Diff(wantDeps, gotDeps); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}
	if _, err := Pipeline(Options{}); err != ErrNoImage {
		t.Errorf("Pipeline without an image: got %v, want ErrNoImage", err)
	}
}

func TestWriteYAMLScalars(t *testing.T) {
	var buf bytes.Buffer
	writeYAML(&buf, map[string]any{
		"a":    []any{"x: y", "# no comment", map[string]any{"k": "true", "n": json.Number("1.5")}},
		"yes":  map[string]any{},
		"b c":  []any{},
		"null": nil,
		"s":    "line\n\"two\"",
	}, 0, false)
	want := `
a:
  - "x: y"
  - "# no comment"
  - k: "true"
    "n": 1.5
"b c": []
"null": null
s: "line\n\"two\""
"yes": {}
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
