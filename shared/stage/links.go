package stage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
)

// A LinkRule forbids a package of the module from linking other packages:
// a deployed function carries only what it runs.
type LinkRule struct {
	// Package is an import path relative to the module: "functions/distill".
	Package string
	// Deny lists import paths, module-relative when the first element has
	// no dot ("shared/serve"), full otherwise ("cloud.google.com/go/x"); a
	// path denies the packages under it too. (The standard library cannot
	// be denied.)
	Deny []string
	// Why is said when the rule is broken.
	Why string
}

// Links are this module's rules. Besides them, CheckLinks forbids every
// function to link another function package (which would register that
// function in its binary too).
var Links = []LinkRule{
	{"functions/distill", []string{"functions/train", "shared/kfp", "cloud.google.com/go/aiplatform"},
		"distill shares training helpers through shared/training; functions/train registers Train and links the Vertex AI client"},
	{"functions/quantize", []string{"functions/train", "shared/kfp", "cloud.google.com/go/aiplatform"},
		"quantize shares training helpers through shared/training; functions/train registers Train and links the Vertex AI client"},
	{"functions/collect", []string{"shared/serve", "shared/nn", "shared/infer", "shared/tflite"},
		"collect reads predlog.Sample lines; the inference service is not what it runs"},
	{"functions/driftcheck", []string{"shared/serve", "shared/nn", "shared/infer"},
		"the drift check reads profiles, not models"},
	{"shared/features", []string{"shared/nn"},
		"features needs only tabular's Task and Normalization, not the trainer"},
}

// ErrForbiddenLink is returned when a package links what a rule denies.
var ErrForbiddenLink = errors.New("forbidden link")

// CheckLinks lists what each function of the module and each rule's package
// link (`go list -deps`) and returns ErrForbiddenLink naming every broken
// rule, with the import chain that brings the denied package in.
func CheckLinks(ctx context.Context, o Options, rules []LinkRule) error {
	o.defaults()
	fns, err := Discover(ctx, o)
	if err != nil {
		return err
	}
	modPath, err := modulePath(o)
	if err != nil {
		return err
	}
	full := func(p string) string {
		if strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
			return p
		}
		return modPath + "/" + p
	}
	type check struct {
		pkg  string
		deny []string
		why  string
	}
	var checks []check
	for _, f := range fns {
		var deny []string
		for _, g := range fns {
			if g.ImportPath != f.ImportPath {
				deny = append(deny, g.ImportPath)
			}
		}
		checks = append(checks, check{f.ImportPath, deny, "a function that imports another function registers it too"})
	}
	for _, r := range rules {
		c := check{pkg: full(r.Package), why: r.Why}
		for _, d := range r.Deny {
			c.deny = append(c.deny, full(d))
		}
		checks = append(checks, c)
	}
	var broken []string
	for _, c := range checks {
		pkgs, err := goList(ctx, o, "-deps", c.pkg)
		if err != nil {
			return fmt.Errorf("stage: check links: %w", err)
		}
		importers := map[string]string{} // package -> one package of c.pkg's graph importing it
		for _, p := range pkgs {
			if p.Error != nil {
				return fmt.Errorf("stage: check links: %s: %s", p.ImportPath, p.Error.Err)
			}
			for _, imp := range p.Imports {
				if _, ok := importers[imp]; !ok {
					importers[imp] = p.ImportPath
				}
			}
		}
		// One line per denied path: the linked package under it with the
		// shortest import chain.
		for _, d := range c.deny {
			best := ""
			for _, p := range pkgs {
				if p.ImportPath != d && !strings.HasPrefix(p.ImportPath, d+"/") {
					continue
				}
				if ch := chain(importers, c.pkg, p.ImportPath); best == "" || strings.Count(ch, " -> ") < strings.Count(best, " -> ") {
					best = ch
				}
			}
			if best != "" {
				linked := best
				if i := strings.LastIndex(best, " -> "); i >= 0 {
					linked = best[i+len(" -> "):]
				}
				broken = append(broken, fmt.Sprintf("%s links %s (%s): %s", c.pkg, linked, best, c.why))
			}
		}
	}
	if len(broken) > 0 {
		sort.Strings(broken)
		return fmt.Errorf("stage: %w:\n%s", ErrForbiddenLink, strings.Join(broken, "\n"))
	}
	return nil
}

// chain is an import path from root to p: root -> ... -> p.
func chain(importers map[string]string, root, p string) string {
	path := []string{p}
	for seen := map[string]bool{p: true}; p != root; {
		q, ok := importers[p]
		if !ok || seen[q] {
			break
		}
		seen[q] = true
		path = append(path, q)
		p = q
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return strings.Join(path, " -> ")
}

func modulePath(o Options) (string, error) {
	data, err := os.ReadFile(filepath.Join(o.ModuleDir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("stage: check links: %w", err)
	}
	if mp := modfile.ModulePath(data); mp != "" {
		return mp, nil
	}
	return "", fmt.Errorf("stage: check links: %s/go.mod names no module", o.ModuleDir)
}
