package stage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeFiles writes files (path -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fixtureModule writes a module example.com/fixture with the repository's
// requirements (so the warm module cache serves it) and one function, hello,
// that imports one library with an embedded file; beside them a library no
// function imports, a main package and a nested package under functions/.
func fixtureModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile("../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	mod := regexp.MustCompile(`(?m)^module .*$`).ReplaceAllString(string(gomod), "module example.com/fixture")
	writeFiles(t, dir, map[string]string{
		"go.mod": mod,
		"go.sum": string(gosum),
		"functions/hello/hello.go": `package hello

import (
	"context"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/fixture/lib/greet"
)

const EntryPoint = "Hello"

func init() { functions.CloudEvent(EntryPoint, handle) }

func handle(ctx context.Context, e event.Event) error { _ = greet.Text(); return nil }
`,
		"functions/hello/hello_test.go":    "package hello\n",
		"functions/hello/nested/nested.go": "package nested\n",
		"functions/tool/main.go":           "package main\n\nfunc main() {}\n",
		"lib/greet/greet.go": `package greet

import _ "embed"

//go:embed greeting.txt
var greeting string

func Text() string { return greeting }
`,
		"lib/greet/greeting.txt":     "hello\n",
		"lib/greet/greet_test.go":    "package greet\n",
		"lib/unused/unused.go":       "package unused\n",
		"testdata/ignored/ignore.go": "package ignored\n",
	})
	return dir
}

func fixtureEntry(name string) (string, bool) {
	if name == "hello" {
		return "Hello", true
	}
	return "", false
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestStageFixture(t *testing.T) {
	mod := fixtureModule(t)
	out := t.TempDir()
	ctx := ctxT(t)
	got, err := Stage(ctx, Options{ModuleDir: mod, OutDir: out, EntryPoint: fixtureEntry})
	if err != nil {
		t.Fatal(err)
	}
	want := []Staged{{
		Function: Function{Name: "hello", ImportPath: "example.com/fixture/functions/hello", EntryPoint: "Hello"},
		Dir:      filepath.Join(out, "hello"),
		Packages: []string{"example.com/fixture/functions/hello", "example.com/fixture/lib/greet"},
		Files:    6,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Stage (-want +got):\n%s", diff)
	}
	wantFiles := []string{"function.go", "functions/hello/hello.go", "go.mod", "go.sum", "lib/greet/greet.go", "lib/greet/greeting.txt"}
	if diff := cmp.Diff(wantFiles, listFiles(t, got[0].Dir)); diff != "" {
		t.Errorf("staged files (-want +got):\n%s", diff)
	}
	if err := Verify(ctx, got[0].Dir, "Hello", ""); err != nil {
		t.Fatal(err)
	}
	// The probe tells a wrong entry point.
	if err := Verify(ctx, got[0].Dir, "Goodbye", ""); !errors.Is(err, ErrBuilderRule) {
		t.Errorf("Verify with a wrong entry point: got %v, want ErrBuilderRule", err)
	}
	// Staging again replaces the folder.
	if err := os.WriteFile(filepath.Join(got[0].Dir, "stale.go"), []byte("package stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Stage(ctx, Options{ModuleDir: mod, OutDir: out, EntryPoint: fixtureEntry, Only: []string{"hello"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantFiles, listFiles(t, got[0].Dir)); diff != "" {
		t.Errorf("restaged files (-want +got):\n%s", diff)
	}
	if _, err := Stage(ctx, Options{ModuleDir: mod, OutDir: out, EntryPoint: fixtureEntry, Only: []string{"nope"}}); !errors.Is(err, ErrUnknownFunction) {
		t.Errorf("Stage of an unknown function: got %v, want ErrUnknownFunction", err)
	}
}

func TestCheckRules(t *testing.T) {
	good := map[string]string{"go.mod": "module example.com/m\n\ngo 1.26\n", "function.go": "package function\n"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		for k, v := range extra {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name     string
		files    map[string]string
		readonly bool
		wantErr  string
	}{
		{"good", good, false, ""},
		{"good with a package below", with(map[string]string{"lib/lib.go": "package lib\n"}), false, ""},
		{"test file of the same package", with(map[string]string{"function_test.go": "package function\n"}), false, "test file"},
		{"external test package", with(map[string]string{"x_test.go": "package function_test\n"}), false, "test file"},
		{"two packages", with(map[string]string{"other.go": "package other\n"}), false, "2 packages"},
		{"main", with(map[string]string{"function.go": "package main\n"}), false, "root package is main"},
		{"no package", with(map[string]string{"function.go": ""}), false, "no Go package"},
		{"no go.mod", with(map[string]string{"go.mod": ""}), false, "go.mod"},
		{"dotless module", with(map[string]string{"go.mod": "module megapipe/mega\n"}), false, "no dot"},
		{"read-only go.mod", good, true, "not writable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			if tt.readonly {
				if err := os.Chmod(filepath.Join(dir, "go.mod"), 0o444); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckRules(dir)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrBuilderRule) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want ErrBuilderRule mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestStageRepo stages every function of this module and verifies each
// folder alone: the builder rules, go build with only the module cache, and
// the entry point registered under its config name.
func TestStageRepo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function")
	}
	ctx := ctxT(t)
	fns, err := Discover(ctx, Options{ModuleDir: "../.."})
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) == 0 {
		t.Skip("no function packages under functions/ yet (TestStageFixture covers staging)")
	}
	out := t.TempDir()
	staged, err := Stage(ctx, Options{ModuleDir: "../..", OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range staged {
		t.Run(s.Name, func(t *testing.T) {
			// Each verification compiles and links the function; on a
			// loaded 2-core machine that can take minutes.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			if err := Verify(ctx, s.Dir, s.EntryPoint, ""); err != nil {
				t.Fatal(err)
			}
			if root, err := os.ReadFile(filepath.Join(s.Dir, RootFile)); err != nil || !strings.Contains(string(root), "logging.InstallFromEnv()") {
				t.Errorf("%s does not install the JSON log handler (%v):\n%s", RootFile, err, root)
			}
			t.Logf("%s: entry point %s, %d packages, %d files", s.Name, s.EntryPoint, len(s.Packages), s.Files)
		})
	}
}

// A function that links the module's shared/logging gets a root whose init
// installs the JSON log handler (logging.InstallFromEnv); one that does not
// (the fixture's hello above) gets a root that only imports it.
func TestStageRootInstallsLogging(t *testing.T) {
	mod := fixtureModule(t)
	writeFiles(t, mod, map[string]string{
		"shared/logging/logging.go": "package logging\n\nvar Installed bool\n\nfunc InstallFromEnv() { Installed = true }\n",
		"functions/hello/log.go":    "package hello\n\nimport _ \"example.com/fixture/shared/logging\"\n",
	})
	out := t.TempDir()
	ctx := ctxT(t)
	got, err := Stage(ctx, Options{ModuleDir: mod, OutDir: out, EntryPoint: fixtureEntry})
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile(filepath.Join(got[0].Dir, RootFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\t\"example.com/fixture/shared/logging\"\n", "\nfunc init() { logging.InstallFromEnv() }\n"} {
		if !strings.Contains(string(root), want) {
			t.Errorf("%s lacks %q:\n%s", RootFile, want, root)
		}
	}
	if err := Verify(ctx, got[0].Dir, "Hello", ""); err != nil {
		t.Fatal(err)
	}
}
