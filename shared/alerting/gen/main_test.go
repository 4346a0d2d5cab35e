package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The committed policy files are the generator's output: run
// `go generate ./shared/alerting` after changing a drift policy.
func TestCommittedFilesAreGenerated(t *testing.T) {
	for _, f := range Files {
		want, err := Generate(f.Env, f.Policy, f.Origin)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s is not the generator's output; run go generate ./shared/alerting (-generated +committed):\n%s", f.Name, diff)
		}
	}
}
