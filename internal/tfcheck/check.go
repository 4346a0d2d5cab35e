package tfcheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Problem is one thing Terraform or the provider would reject.
type Problem struct {
	Range   hcl.Range
	Message string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d,%d: %s", filepath.Base(p.Range.Filename), p.Range.Start.Line, p.Range.Start.Column, p.Message)
}

// Report is the result of checking a Terraform configuration.
type Report struct {
	Files []string // the .tf files read, by base name
	// Checked lists the resources and data sources checked against a
	// provider schema, as "resource TYPE.NAME" or "data TYPE.NAME".
	Checked []string
	// Unchecked lists the blocks whose arguments were not checked for want of
	// a schema (other providers, provider configurations, module inputs),
	// with the reason; their references were still checked.
	Unchecked []string
	Problems  []Problem
}

// OK tells whether no problem was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Check reads every .tf file in dir (not its subfolders, like Terraform) and
// checks it against the provider schemas. It returns an error only when the
// folder cannot be read; what is wrong with the configuration is in the
// report.
func Check(dir string, schemas ...*Schema) (*Report, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, fmt.Errorf("tfcheck: check %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("tfcheck: check %s: no .tf files", dir)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("tfcheck: check %s: %w", dir, err)
		}
		files[p] = src
	}
	return CheckFiles(files, schemas...), nil
}

// CheckFiles checks the files of one Terraform module, given by name and
// content.
func CheckFiles(files map[string][]byte, schemas ...*Schema) *Report {
	c := &checker{
		rep:       &Report{},
		schemas:   map[string]*Schema{},
		vars:      map[string]bool{},
		locals:    map[string]bool{},
		modules:   map[string]bool{},
		resources: map[string]bool{},
		data:      map[string]bool{},
	}
	for _, s := range schemas {
		c.schemas[s.Provider] = s
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	parser := hclparse.NewParser()
	var bodies []*hclsyntax.Body
	for _, p := range paths {
		src := files[p]
		c.rep.Files = append(c.rep.Files, filepath.Base(p))
		if formatted := hclwrite.Format(src); !bytes.Equal(formatted, src) {
			c.problem(hcl.Range{Filename: p, Start: firstDiff(src, formatted)}, "not formatted: run terraform fmt (hclwrite.Format changes this file)")
		}
		f, diags := parser.ParseHCL(src, p)
		c.diags(diags)
		if f == nil {
			continue
		}
		body, ok := f.Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		bodies = append(bodies, body)
		c.declare(body)
	}
	for _, b := range bodies {
		c.checkTop(b)
	}
	sort.SliceStable(c.rep.Problems, func(i, j int) bool {
		a, b := c.rep.Problems[i].Range, c.rep.Problems[j].Range
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return c.rep
}

func firstDiff(a, b []byte) hcl.Pos {
	pos := hcl.Pos{Line: 1, Column: 1}
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		pos.Byte++
		pos.Column++
		if a[i] == '\n' {
			pos.Line++
			pos.Column = 1
		}
	}
	return pos
}

type checker struct {
	rep       *Report
	schemas   map[string]*Schema
	vars      map[string]bool
	locals    map[string]bool
	modules   map[string]bool
	resources map[string]bool // TYPE.NAME
	data      map[string]bool // TYPE.NAME
}

func (c *checker) problem(r hcl.Range, format string, args ...any) {
	c.rep.Problems = append(c.rep.Problems, Problem{Range: r, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) diags(diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		r := hcl.Range{}
		if d.Subject != nil {
			r = *d.Subject
		}
		c.problem(r, "%s: %s", d.Summary, d.Detail)
	}
}

// declare records what the file declares, so references can be resolved
// across files.
func (c *checker) declare(body *hclsyntax.Body) {
	for _, b := range body.Blocks {
		switch {
		case b.Type == "variable" && len(b.Labels) == 1:
			c.dup(c.vars, b.Labels[0], b, "variable")
		case b.Type == "locals":
			for name, a := range b.Body.Attributes {
				if c.locals[name] {
					c.problem(a.NameRange, "duplicate local value %q", name)
				}
				c.locals[name] = true
			}
		case b.Type == "module" && len(b.Labels) == 1:
			c.dup(c.modules, b.Labels[0], b, "module")
		case b.Type == "resource" && len(b.Labels) == 2:
			c.dup(c.resources, b.Labels[0]+"."+b.Labels[1], b, "resource")
		case b.Type == "data" && len(b.Labels) == 2:
			c.dup(c.data, b.Labels[0]+"."+b.Labels[1], b, "data source")
		}
	}
}

func (c *checker) dup(m map[string]bool, name string, b *hclsyntax.Block, what string) {
	if m[name] {
		c.problem(b.DefRange(), "duplicate %s %q", what, name)
	}
	m[name] = true
}

// labels is how many labels each top-level block type takes.
var labels = map[string]int{
	"terraform": 0, "provider": 1, "variable": 1, "locals": 0, "output": 1, "resource": 2, "data": 2,
	"module": 1, "moved": 0, "import": 0, "removed": 0, "check": 1, "ephemeral": 2,
}

func (c *checker) checkTop(body *hclsyntax.Body) {
	for name, a := range body.Attributes {
		c.problem(a.NameRange, "unexpected argument %q at the top level", name)
	}
	for _, b := range body.Blocks {
		n, ok := labels[b.Type]
		if !ok {
			c.problem(b.TypeRange, "unknown top-level block type %q", b.Type)
			continue
		}
		if len(b.Labels) != n {
			c.problem(b.DefRange(), "a %s block takes %d labels, got %d", b.Type, n, len(b.Labels))
			continue
		}
		sc := scope{}
		switch b.Type {
		case "variable":
			// The type argument is a type constraint, not an expression
			// with references.
			c.checkBody(b.Body, variableBlock, "variable "+b.Labels[0], scope{skipAttrs: setOf("type")})
		case "output":
			c.checkBody(b.Body, outputBlock, "output "+b.Labels[0], sc)
		case "locals":
			for _, a := range sortedAttrs(b.Body) {
				c.checkExpr(a.Expr, sc)
			}
			for _, nb := range b.Body.Blocks {
				c.problem(nb.TypeRange, "unexpected block %q in locals", nb.Type)
			}
		case "resource", "data":
			c.checkResource(b)
		case "provider":
			c.rep.Unchecked = append(c.rep.Unchecked, "provider "+b.Labels[0]+": configuration arguments (no provider configuration schema)")
			c.checkAnyBody(b.Body, sc)
		case "module":
			if _, ok := b.Body.Attributes["source"]; !ok {
				c.problem(b.DefRange(), "module %q: missing required argument \"source\"", b.Labels[0])
			}
			c.rep.Unchecked = append(c.rep.Unchecked, "module "+b.Labels[0]+": inputs (no module schema)")
			c.checkAnyBody(b.Body, c.iterScope(b.Body, sc))
		case "terraform":
			c.checkTerraform(b.Body)
		default:
			c.rep.Unchecked = append(c.rep.Unchecked, b.Type+" block: arguments")
			c.checkAnyBody(b.Body, sc)
		}
	}
}

func (c *checker) checkTerraform(body *hclsyntax.Body) {
	for _, a := range sortedAttrs(body) {
		switch a.Name {
		case "required_version", "experiments":
		default:
			c.problem(a.NameRange, "unsupported argument %q in terraform", a.Name)
		}
	}
	for _, b := range body.Blocks {
		switch b.Type {
		case "required_providers", "backend", "cloud", "provider_meta":
		default:
			c.problem(b.TypeRange, "unsupported block type %q in terraform", b.Type)
		}
	}
}

// scope is what an expression may refer to besides declared objects.
type scope struct {
	each, count bool
	iterators   map[string]bool
	skipAttrs   map[string]bool // arguments whose expressions are not references
}

func (s scope) with(iterator string) scope {
	it := map[string]bool{iterator: true}
	for k := range s.iterators {
		it[k] = true
	}
	s.iterators = it
	return s
}

func (c *checker) iterScope(body *hclsyntax.Body, s scope) scope {
	_, s.each = body.Attributes["for_each"]
	_, s.count = body.Attributes["count"]
	if s.each && s.count {
		c.problem(body.Attributes["count"].NameRange, "count and for_each cannot both be set")
	}
	return s
}

func (c *checker) checkResource(b *hclsyntax.Block) {
	typ, name := b.Labels[0], b.Labels[1]
	kind, meta := "resource", resourceMeta
	if b.Type == "data" {
		kind, meta = "data", dataMeta
	}
	sc := c.iterScope(b.Body, scope{})
	provider := typ
	if i := strings.IndexByte(typ, '_'); i > 0 {
		provider = typ[:i]
	}
	if a, ok := b.Body.Attributes["provider"]; ok {
		if t, diags := hcl.AbsTraversalForExpr(a.Expr); !diags.HasErrors() {
			provider = t.RootName()
		}
	}
	s, ok := c.schemas[provider]
	if !ok {
		c.rep.Unchecked = append(c.rep.Unchecked, fmt.Sprintf("%s %s.%s: arguments (provider %q: no schema)", kind, typ, name, provider))
		c.checkMeta(b.Body, meta, kind+" "+typ+"."+name, sc)
		return
	}
	types := s.Resources
	if kind == "data" {
		types = s.DataSources
	}
	schema, ok := types[typ]
	if !ok {
		c.problem(b.LabelRanges[0], "%s type %q does not exist in provider %s %s%s", kind, typ, s.Provider, s.Version, suggest(typ, mapKeys(types)))
		return
	}
	c.rep.Checked = append(c.rep.Checked, kind+" "+typ+"."+name)
	full := Block{}
	for k, v := range schema {
		full[k] = v
	}
	for k, v := range meta {
		if _, clash := full[k]; !clash {
			full[k] = v
		}
	}
	c.checkBody(b.Body, full, kind+" "+typ+"."+name, sc)
}

// checkMeta checks the meta-arguments of a block whose other arguments are
// unchecked.
func (c *checker) checkMeta(body *hclsyntax.Body, meta Block, where string, sc scope) {
	for _, a := range sortedAttrs(body) {
		c.checkExpr(a.Expr, sc)
	}
	for _, nb := range body.Blocks {
		if nb.Type == "lifecycle" {
			c.checkBody(nb.Body, meta["lifecycle"].Block, where+" lifecycle", sc)
			continue
		}
		c.checkAnyBody(nb.Body, sc)
	}
}

// checkAnyBody checks only the references of a body without a schema.
func (c *checker) checkAnyBody(body *hclsyntax.Body, sc scope) {
	for _, a := range sortedAttrs(body) {
		c.checkExpr(a.Expr, sc)
	}
	for _, nb := range body.Blocks {
		if nb.Type == "dynamic" && len(nb.Labels) == 1 {
			it := nb.Labels[0]
			if a, ok := nb.Body.Attributes["iterator"]; ok {
				if t, diags := hcl.AbsTraversalForExpr(a.Expr); !diags.HasErrors() {
					it = t.RootName()
				}
			}
			c.checkAnyBody(nb.Body, sc.with(it))
			continue
		}
		c.checkAnyBody(nb.Body, sc)
	}
}

// checkBody checks a body against its schema: every argument and nested
// block must exist where it stands, required ones must be set, and every
// reference must resolve.
func (c *checker) checkBody(body *hclsyntax.Body, schema Block, where string, sc scope) {
	present := map[string]bool{}
	for _, a := range sortedAttrs(body) {
		present[a.Name] = true
		f, ok := schema[a.Name]
		switch {
		case !ok:
			c.problem(a.NameRange, "unsupported argument %q in %s: not in the schema (misspelled, or an attribute the provider only computes)%s", a.Name, where, suggest(a.Name, schema.names()))
		case f.IsBlock():
			c.problem(a.NameRange, "%q in %s is a block: write %s { ... }, not %s = ...", a.Name, where, a.Name, a.Name)
		}
		if sc.skipAttrs[a.Name] || (a.Name == "ignore_changes") {
			continue
		}
		c.checkExpr(a.Expr, sc)
	}
	for _, nb := range body.Blocks {
		if nb.Type == "dynamic" {
			c.checkDynamic(nb, schema, where, sc, present)
			continue
		}
		present[nb.Type] = true
		f, ok := schema[nb.Type]
		switch {
		case !ok:
			c.problem(nb.TypeRange, "unsupported block type %q in %s%s", nb.Type, where, suggest(nb.Type, schema.names()))
			continue
		case !f.IsBlock():
			c.problem(nb.TypeRange, "%q in %s is an argument: write %s = ..., not a block", nb.Type, where, nb.Type)
			continue
		}
		if len(nb.Labels) != 0 {
			c.problem(nb.DefRange(), "block %q in %s takes no labels", nb.Type, where)
		}
		c.checkBody(nb.Body, f.Block, where+" "+nb.Type, sc)
	}
	for _, name := range schema.names() {
		f := schema[name]
		if !f.Required || present[name] {
			continue
		}
		what := "argument"
		if f.IsBlock() {
			what = "block"
		}
		c.problem(body.SrcRange, "missing required %s %q in %s", what, name, where)
	}
}

func (c *checker) checkDynamic(nb *hclsyntax.Block, schema Block, where string, sc scope, present map[string]bool) {
	if len(nb.Labels) != 1 {
		c.problem(nb.DefRange(), "a dynamic block takes one label, the name of the block it generates")
		return
	}
	name := nb.Labels[0]
	present[name] = true
	f, ok := schema[name]
	switch {
	case !ok:
		c.problem(nb.LabelRanges[0], "dynamic block %q in %s: no such block type%s", name, where, suggest(name, schema.names()))
		return
	case !f.IsBlock():
		c.problem(nb.LabelRanges[0], "dynamic block %q in %s: %q is an argument, not a block", name, where, name)
		return
	}
	iterator := name
	for _, a := range sortedAttrs(nb.Body) {
		switch a.Name {
		case "for_each", "labels":
			c.checkExpr(a.Expr, sc)
		case "iterator":
			t, diags := hcl.AbsTraversalForExpr(a.Expr)
			if diags.HasErrors() || len(t) != 1 {
				c.problem(a.Expr.Range(), "dynamic %q: iterator must be a single name", name)
				continue
			}
			iterator = t.RootName()
		default:
			c.problem(a.NameRange, "unsupported argument %q in dynamic block %q", a.Name, name)
		}
	}
	if _, ok := nb.Body.Attributes["for_each"]; !ok {
		c.problem(nb.DefRange(), "dynamic %q in %s: missing required argument \"for_each\"", name, where)
	}
	contents := 0
	for _, cb := range nb.Body.Blocks {
		if cb.Type != "content" {
			c.problem(cb.TypeRange, "unsupported block type %q in dynamic block %q: only content", cb.Type, name)
			continue
		}
		contents++
		c.checkBody(cb.Body, f.Block, where+" "+name, sc.with(iterator))
	}
	if contents != 1 {
		c.problem(nb.DefRange(), "dynamic %q in %s: want exactly one content block, got %d", name, where, contents)
	}
}

// checkExpr checks the references and function calls of an expression.
func (c *checker) checkExpr(expr hclsyntax.Expression, sc scope) {
	hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && !functions[call.Name] && !strings.HasPrefix(call.Name, "provider::") {
			c.problem(call.NameRange, "call to unknown function %q", call.Name)
		}
		return nil
	})
	for _, t := range expr.Variables() {
		c.checkRef(t, sc)
	}
}

func attrName(t hcl.Traversal, i int) (string, bool) {
	if i >= len(t) {
		return "", false
	}
	a, ok := t[i].(hcl.TraverseAttr)
	return a.Name, ok
}

func (c *checker) checkRef(t hcl.Traversal, sc scope) {
	root := t.RootName()
	r := t.SourceRange()
	need := func(m map[string]bool, i int, what string) {
		name, ok := attrName(t, i)
		if !ok {
			c.problem(r, "a reference to %s must name it: %s.NAME", what, root)
			return
		}
		if !m[name] {
			c.problem(r, "reference to undeclared %s %q", what, name)
		}
	}
	switch root {
	case "var":
		need(c.vars, 1, "input variable")
	case "local":
		need(c.locals, 1, "local value")
	case "module":
		need(c.modules, 1, "module")
	case "data":
		typ, ok1 := attrName(t, 1)
		name, ok2 := attrName(t, 2)
		if !ok1 || !ok2 {
			c.problem(r, "a reference to a data source must be data.TYPE.NAME")
			return
		}
		if !c.data[typ+"."+name] {
			c.problem(r, "reference to undeclared data source \"data.%s.%s\"", typ, name)
		}
	case "path", "terraform":
	case "each":
		if !sc.each {
			c.problem(r, "each.* is only valid in a block with for_each")
		}
	case "count":
		if !sc.count {
			c.problem(r, "count.* is only valid in a block with count")
		}
	case "self":
		c.problem(r, "self is only valid in provisioner and connection blocks")
	default:
		if sc.iterators[root] {
			return
		}
		name, ok := attrName(t, 1)
		if !ok {
			c.problem(r, "reference to undeclared name %q", root)
			return
		}
		if !c.resources[root+"."+name] {
			c.problem(r, "reference to undeclared resource \"%s.%s\"", root, name)
		}
	}
}

func sortedAttrs(body *hclsyntax.Body) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SrcRange.Start.Byte < out[j].SrcRange.Start.Byte })
	return out
}

func mapKeys(m map[string]Block) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest returns `; did you mean "x"?` for the closest name within a small
// edit distance, or "".
func suggest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := distance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
