package tfcheck

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Field is one argument or nested block of a schema.
type Field struct {
	// Required: an argument must be set; a nested block must appear at least
	// once (the provider's min_items >= 1).
	Required bool `json:"required"`
	// Block is the nested block's own schema; nil for an argument.
	Block Block `json:"block,omitempty"`
}

// IsBlock tells whether the field is a nested block.
func (f *Field) IsBlock() bool { return f.Block != nil }

// Block is the schema of a block body: its arguments and nested blocks by
// name. Attributes that the provider only computes are absent, so setting
// one is reported like an unknown argument.
type Block map[string]*Field

// Schema is one provider's configuration schema: the resources and data
// sources it knows.
type Schema struct {
	Provider    string           // local name, the prefix of its type names: "google"
	Version     string           // the provider version the schema describes
	Resources   map[string]Block `json:"resources"`
	DataSources map[string]Block `json:"data-sources"`
}

// LoadSchema reads a schema in the format of ../shared/tools/tf-schema
// ({"resources": {...}, "data-sources": {...}}), gzip-compressed or not.
func LoadSchema(r io.Reader, provider, version string) (*Schema, error) {
	br := &peekReader{r: r}
	var src io.Reader = br
	if magic, err := br.peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("tfcheck: load schema: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	s := &Schema{Provider: provider, Version: version}
	dec := json.NewDecoder(src)
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("tfcheck: load schema: %w", err)
	}
	if len(s.Resources) == 0 {
		return nil, fmt.Errorf("tfcheck: load schema: no resources")
	}
	for name := range s.Resources {
		if !strings.HasPrefix(name, provider+"_") {
			return nil, fmt.Errorf("tfcheck: load schema: resource %q does not belong to provider %q", name, provider)
		}
	}
	return s, nil
}

// LoadSchemaFile reads a schema file (see LoadSchema).
func LoadSchemaFile(path, provider, version string) (*Schema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tfcheck: load schema: %w", err)
	}
	defer f.Close()
	return LoadSchema(f, provider, version)
}

type peekReader struct {
	r   io.Reader
	buf []byte
}

func (p *peekReader) peek(n int) ([]byte, error) {
	for len(p.buf) < n {
		b := make([]byte, n-len(p.buf))
		k, err := p.r.Read(b)
		p.buf = append(p.buf, b[:k]...)
		if err != nil {
			return p.buf, err
		}
	}
	return p.buf[:n], nil
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// names returns the field names of a block, sorted.
func (b Block) names() []string {
	out := make([]string, 0, len(b))
	for k := range b {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
