package stage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
)

// ErrBuilderRule is wrapped by every violation of the Cloud Functions Go
// builder's rules.
var ErrBuilderRule = errors.New("breaks a Cloud Functions Go builder rule")

// CheckRules checks a staged folder against the rules of the Cloud Functions
// Go builder (GoogleCloudPlatform/buildpacks, cmd/go/functions_framework):
// the source root holds exactly one package, not main (a _test.go file of
// another package would be a second one, so none is allowed there); go.mod is
// writable (the builder adds the framework to it) and its module path has a
// dot in its first element.
func CheckRules(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("stage: check %s: %w", dir, err)
	}
	pkgs := map[string][]string{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		if strings.HasSuffix(e.Name(), "_test.go") {
			return fmt.Errorf("stage: check %s: %w: test file %s at the source root", dir, ErrBuilderRule, e.Name())
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.PackageClauseOnly)
		if err != nil {
			return fmt.Errorf("stage: check %s: %w", dir, err)
		}
		pkgs[f.Name.Name] = append(pkgs[f.Name.Name], e.Name())
	}
	switch {
	case len(pkgs) == 0:
		return fmt.Errorf("stage: check %s: %w: no Go package at the source root", dir, ErrBuilderRule)
	case len(pkgs) > 1:
		var names []string
		for n := range pkgs {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("stage: check %s: %w: %d packages at the source root (%s)", dir, ErrBuilderRule, len(pkgs), strings.Join(names, ", "))
	case pkgs["main"] != nil:
		return fmt.Errorf("stage: check %s: %w: the root package is main", dir, ErrBuilderRule)
	}
	gomod := filepath.Join(dir, "go.mod")
	info, err := os.Stat(gomod)
	if err != nil {
		return fmt.Errorf("stage: check %s: %w: %w", dir, ErrBuilderRule, err)
	}
	if info.Mode().Perm()&0o200 == 0 {
		return fmt.Errorf("stage: check %s: %w: go.mod is not writable", dir, ErrBuilderRule)
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return fmt.Errorf("stage: check %s: %w", dir, err)
	}
	mf, err := modfile.ParseLax(gomod, data, nil)
	if err != nil {
		return fmt.Errorf("stage: check %s: %w", dir, err)
	}
	if mf.Module == nil {
		return fmt.Errorf("stage: check %s: %w: go.mod has no module line", dir, ErrBuilderRule)
	}
	if first, _, _ := strings.Cut(mf.Module.Mod.Path, "/"); !strings.Contains(first, ".") {
		return fmt.Errorf("stage: check %s: %w: module path %q has no dot in its first element", dir, ErrBuilderRule, mf.Module.Mod.Path)
	}
	return nil
}

// Verify checks that a staged folder is deployable: CheckRules, then `go
// build ./...` inside it alone (GOFLAGS=-mod=mod as the builder does, and
// GOPROXY=off so that it uses only the module cache), then a probe program
// built against it that asks functions-framework-go to serve entryPoint as
// the builder's generated main does with FUNCTION_TARGET: it fails with "no
// matching function" unless the function registered under that name.
func Verify(ctx context.Context, dir, entryPoint, goCmd string) error {
	if goCmd == "" {
		goCmd = "go"
	}
	if err := CheckRules(dir); err != nil {
		return err
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	run := func(dir string, extra []string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Dir = dir
		cmd.Env = append(append([]string(nil), env...), extra...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return strings.TrimSpace(out.String()), err
	}
	if out, err := run(dir, nil, "build", "./..."); err != nil {
		return fmt.Errorf("stage: verify %s: go build: %w: %s", dir, err, out)
	}
	// The probe lives in a copy, so the staged folder keeps one package.
	probeDir, err := os.MkdirTemp("", "stage-probe-")
	if err != nil {
		return fmt.Errorf("stage: verify %s: %w", dir, err)
	}
	defer os.RemoveAll(probeDir)
	if err := os.CopyFS(probeDir, os.DirFS(dir)); err != nil {
		return fmt.Errorf("stage: verify %s: %w", dir, err)
	}
	mf, err := modfile.ParseLax("go.mod", mustRead(filepath.Join(dir, "go.mod")), nil)
	if err != nil || mf.Module == nil {
		return fmt.Errorf("stage: verify %s: go.mod: %v", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(probeDir, "probe"), 0o755); err != nil {
		return fmt.Errorf("stage: verify %s: %w", dir, err)
	}
	probe := fmt.Sprintf(`package main

import (
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ %q
)

func main() {
	// Port -1 makes the server fail right after the function lookup.
	fmt.Println(funcframework.StartHostPort("127.0.0.1", "-1"))
	os.Exit(0)
}
`, mf.Module.Mod.Path)
	if err := os.WriteFile(filepath.Join(probeDir, "probe", "main.go"), []byte(probe), 0o644); err != nil {
		return fmt.Errorf("stage: verify %s: %w", dir, err)
	}
	out, err := run(probeDir, []string{"FUNCTION_TARGET=" + entryPoint}, "run", "./probe")
	switch {
	case err != nil:
		return fmt.Errorf("stage: verify %s: probe: %w: %s", dir, err, out)
	case strings.Contains(out, "no matching function"):
		return fmt.Errorf("stage: verify %s: %w: no function registered as %q: %s", dir, ErrBuilderRule, entryPoint, out)
	case !strings.Contains(out, "invalid port"):
		return fmt.Errorf("stage: verify %s: probe: unexpected output: %s", dir, out)
	}
	return nil
}

func mustRead(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}
