package stage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/megapipe/mega/shared/config"
)

// FunctionsDir is the folder of the module that holds one package per
// function.
const FunctionsDir = "functions"

// RootFile is the name of the one file of the staged root package.
const RootFile = "function.go"

// Function is one deployable function of the module.
type Function struct {
	Name       string `json:"name"`        // folder under functions/: "ingest"
	ImportPath string `json:"import_path"` // "github.com/megapipe/mega/functions/ingest"
	EntryPoint string `json:"entry_point"` // registered name: "Ingest"
}

// Staged is the result of staging one function.
type Staged struct {
	Function
	Dir      string   `json:"dir"`      // dist/functions/ingest
	Packages []string `json:"packages"` // module packages copied, by import path
	Files    int      `json:"files"`    // files written
}

// Options say what to stage and where.
type Options struct {
	// ModuleDir is the module root (the folder of go.mod); "" means ".".
	ModuleDir string
	// OutDir receives one folder per function; "" means dist/functions
	// under ModuleDir.
	OutDir string
	// Only, when not empty, names the functions to stage (folder names).
	Only []string
	// EntryPoint maps a function folder to its registered name; nil means
	// the entry points of shared/config (config.Triggers).
	EntryPoint func(name string) (string, bool)
	// Go is the go command; "" means "go".
	Go string
}

// ErrUnknownFunction is returned for a name in Options.Only that is not a
// function folder.
var ErrUnknownFunction = errors.New("unknown function")

// ConfigEntryPoint returns the entry point of a function folder from
// config.Triggers: the registered name whose lower case is the folder name.
func ConfigEntryPoint(name string) (string, bool) {
	for _, t := range config.Triggers {
		if strings.ToLower(t.Function) == name {
			return t.Function, true
		}
	}
	return "", false
}

func (o *Options) defaults() {
	if o.ModuleDir == "" {
		o.ModuleDir = "."
	}
	if o.OutDir == "" {
		o.OutDir = filepath.Join(o.ModuleDir, "dist", FunctionsDir)
	}
	if o.EntryPoint == nil {
		o.EntryPoint = ConfigEntryPoint
	}
	if o.Go == "" {
		o.Go = "go"
	}
}

// listed is the part of `go list -json` output that staging uses.
type listed struct {
	Dir        string
	ImportPath string
	Name       string
	Standard   bool
	GoFiles    []string
	CgoFiles   []string
	SFiles     []string
	HFiles     []string
	SysoFiles  []string
	EmbedFiles []string
	Imports    []string
	Module     *struct {
		Path  string
		Main  bool
		Dir   string
		GoMod string
	}
	Error *struct{ Err string }
}

func goList(ctx context.Context, o Options, args ...string) ([]listed, error) {
	cmd := exec.CommandContext(ctx, o.Go, append([]string{"list", "-e", "-json"}, args...)...)
	cmd.Dir = o.ModuleDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list %s: %w", strings.Join(args, " "), err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// Discover lists the function packages of the module: the non-main packages
// directly under functions/.
func Discover(ctx context.Context, o Options) ([]Function, error) {
	o.defaults()
	if _, err := os.Stat(filepath.Join(o.ModuleDir, FunctionsDir)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	pkgs, err := goList(ctx, o, "./"+FunctionsDir+"/...")
	if err != nil {
		return nil, fmt.Errorf("stage: discover: %w", err)
	}
	var fns []Function
	for _, p := range pkgs {
		if p.Error != nil {
			if strings.Contains(p.Error.Err, "matched no packages") {
				continue
			}
			return nil, fmt.Errorf("stage: discover: %s: %s", p.ImportPath, p.Error.Err)
		}
		if p.Module == nil || !p.Module.Main || p.Name == "main" {
			continue
		}
		rel, err := filepath.Rel(filepath.Join(p.Module.Dir, FunctionsDir), p.Dir)
		if err != nil || strings.Contains(rel, string(filepath.Separator)) || rel == "." {
			continue // nested packages are libraries of a function, not functions
		}
		entry, ok := o.EntryPoint(rel)
		if !ok {
			return nil, fmt.Errorf("stage: discover: %s: no entry point known for function %q", p.ImportPath, rel)
		}
		fns = append(fns, Function{Name: rel, ImportPath: p.ImportPath, EntryPoint: entry})
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].Name < fns[j].Name })
	return fns, nil
}

// Stage writes one deployable folder per function (all, or those of
// o.Only): the module's go.mod and go.sum, every package of the module the
// function imports (transitively), and a root package that blank-imports the
// function so that it registers itself. An existing folder of the same
// function is replaced.
func Stage(ctx context.Context, o Options) ([]Staged, error) {
	o.defaults()
	fns, err := Discover(ctx, o)
	if err != nil {
		return nil, err
	}
	if len(o.Only) > 0 {
		byName := map[string]Function{}
		for _, f := range fns {
			byName[f.Name] = f
		}
		var sel []Function
		for _, n := range o.Only {
			f, ok := byName[n]
			if !ok {
				return nil, fmt.Errorf("stage: %w %q (have %s)", ErrUnknownFunction, n, names(fns))
			}
			sel = append(sel, f)
		}
		fns = sel
	}
	var out []Staged
	for _, f := range fns {
		s, err := stageOne(ctx, o, f)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func names(fns []Function) string {
	if len(fns) == 0 {
		return "none"
	}
	var n []string
	for _, f := range fns {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}

func stageOne(ctx context.Context, o Options, f Function) (Staged, error) {
	pkgs, err := goList(ctx, o, "-deps", f.ImportPath)
	if err != nil {
		return Staged{}, fmt.Errorf("stage %s: %w", f.Name, err)
	}
	dst := filepath.Join(o.OutDir, f.Name)
	if err := os.RemoveAll(dst); err != nil {
		return Staged{}, fmt.Errorf("stage %s: %w", f.Name, err)
	}
	s := Staged{Function: f, Dir: dst}
	var modPath, modDir string
	logs := false // the function links the module's shared/logging
	for _, p := range pkgs {
		if p.Error != nil {
			return Staged{}, fmt.Errorf("stage %s: %s: %s", f.Name, p.ImportPath, p.Error.Err)
		}
		if p.Standard || p.Module == nil || !p.Module.Main {
			continue
		}
		if p.Name == "main" {
			return Staged{}, fmt.Errorf("stage %s: imports main package %s", f.Name, p.ImportPath)
		}
		modPath, modDir = p.Module.Path, p.Module.Dir
		rel, err := filepath.Rel(modDir, p.Dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			return Staged{}, fmt.Errorf("stage %s: package %s outside the module", f.Name, p.ImportPath)
		}
		if rel == "." {
			return Staged{}, fmt.Errorf("stage %s: imports the module's root package, which the staged root replaces", f.Name)
		}
		var files []string
		for _, group := range [][]string{p.GoFiles, p.CgoFiles, p.SFiles, p.HFiles, p.SysoFiles, p.EmbedFiles} {
			files = append(files, group...)
		}
		for _, name := range files {
			if err := copyFile(filepath.Join(p.Dir, name), filepath.Join(dst, rel, name)); err != nil {
				return Staged{}, fmt.Errorf("stage %s: %w", f.Name, err)
			}
			s.Files++
		}
		s.Packages = append(s.Packages, p.ImportPath)
		logs = logs || filepath.ToSlash(rel) == LoggingDir
	}
	if modPath == "" {
		return Staged{}, fmt.Errorf("stage %s: no package of the main module", f.Name)
	}
	for _, name := range []string{"go.mod", "go.sum"} {
		if err := copyFile(filepath.Join(modDir, name), filepath.Join(dst, name)); err != nil {
			return Staged{}, fmt.Errorf("stage %s: %w", f.Name, err)
		}
		s.Files++
	}
	if err := os.WriteFile(filepath.Join(dst, RootFile), rootSource(modPath, f, logs), 0o644); err != nil {
		return Staged{}, fmt.Errorf("stage %s: %w", f.Name, err)
	}
	s.Files++
	sort.Strings(s.Packages)
	return s, nil
}

// RootPackage is the package name of the staged root package.
const RootPackage = "function"

// LoggingDir is the module folder of the logging package whose
// InstallFromEnv the staged root calls in init, when the function links it.
const LoggingDir = "shared/logging"

func rootSource(modPath string, f Function, logs bool) []byte {
	if !logs {
		return []byte(fmt.Sprintf(`// Code generated by mega stage. DO NOT EDIT.

// Package %s is the deployable root of the %s Cloud Function (module
// %s): the Cloud Functions Go builder builds the package at the root of the
// source, and this one only imports the function, which registers itself
// under the entry point %q.
package %s

import _ %q
`, RootPackage, f.Name, modPath, f.EntryPoint, RootPackage, path.Clean(f.ImportPath)))
	}
	return []byte(fmt.Sprintf(`// Code generated by mega stage. DO NOT EDIT.

// Package %s is the deployable root of the %s Cloud Function (module
// %s): the Cloud Functions Go builder builds the package at the root of the
// source, and this one imports the function, which registers itself under
// the entry point %q, and installs the JSON log handler (Cloud Logging's
// shape, at the level MEGA_LOG_LEVEL names) before the first event.
package %s

import (
	_ %q

	"%s/%s"
)

func init() { logging.InstallFromEnv() }
`, RootPackage, f.Name, modPath, f.EntryPoint, RootPackage, path.Clean(f.ImportPath), modPath, LoggingDir))
}

// copyFile copies a file, creating its folder; the copy is writable by its
// owner (the builder rewrites go.mod).
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
