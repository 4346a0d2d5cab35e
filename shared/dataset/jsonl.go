package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// JSONLReader reads JSON Lines: one JSON object per line, keys are columns.
// The first object's keys, in their order, are the header. In later objects
// a missing key or null is an empty value; numbers keep their text; strings
// are taken as they are; true and false become "true" and "false". A line
// that is not an object, repeats a key, names a key outside the header or
// holds a nested array or object is a bad row. Blank lines are skipped; a
// trailing "\r" is ignored.
type JSONLReader struct {
	lr      *lineReader
	header  []string
	index   map[string]int
	fields  [][]byte
	set     []bool
	pending *pendingLine
}

// OpenJSONL reads the first object of a JSON Lines file.
func OpenJSONL(r io.Reader) (*JSONLReader, error) {
	j := &JSONLReader{lr: newLineReader(r), index: map[string]int{}}
	line, n, err := j.nextLine()
	if err == io.EOF {
		return nil, &InputError{Line: 1, Err: fmt.Errorf("%w: no JSON object", ErrEmpty)}
	}
	if err != nil {
		return nil, err
	}
	keys, vals, rerr := splitObject(line)
	if rerr != "" {
		return nil, &InputError{Line: n, Err: fmt.Errorf("%w: first line: %s", ErrFormat, rerr)}
	}
	if len(keys) == 0 {
		return nil, &InputError{Line: n, Err: fmt.Errorf("%w: first line: an object without keys", ErrHeader)}
	}
	fields := make([][]byte, len(keys))
	for i, k := range keys {
		fields[i] = []byte(k)
	}
	h, err := checkHeader(fields)
	if err != nil {
		return nil, &InputError{Line: n, Err: err}
	}
	j.header = h
	for i, k := range h {
		j.index[k] = i
	}
	j.fields = make([][]byte, len(h))
	j.set = make([]bool, len(h))
	// The first line is also the first record: keep it for Next.
	j.pending = &pendingLine{n: n, vals: vals}
	return j, nil
}

type pendingLine struct {
	n    int
	vals [][]byte
}

// Header returns the keys of the first object.
func (j *JSONLReader) Header() []string { return j.header }

func (j *JSONLReader) nextLine() ([]byte, int, error) {
	for {
		line, err := j.lr.next()
		if err != nil {
			return nil, j.lr.line, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return line, j.lr.line, nil
	}
}

// Next returns the values of the next object in header order.
func (j *JSONLReader) Next() ([][]byte, int, error) {
	if p := j.pending; p != nil {
		j.pending = nil
		return p.vals, p.n, nil
	}
	line, n, err := j.nextLine()
	if err != nil {
		return nil, n, err
	}
	keys, vals, rerr := splitObject(line)
	if rerr != "" {
		return nil, n, &RowError{Line: n, Reason: rerr}
	}
	clear(j.set)
	for i := range j.fields {
		j.fields[i] = nil
	}
	for i, k := range keys {
		c, ok := j.index[k]
		if !ok {
			return nil, n, &RowError{Line: n, Reason: fmt.Sprintf("key %q is not a column (columns come from the first line)", k)}
		}
		j.fields[c] = vals[i]
		j.set[c] = true
	}
	return j.fields, n, nil
}

// splitObject decodes one JSON object into keys and value texts. A non-empty
// reason means the line is bad.
func splitObject(line []byte) ([]string, [][]byte, string) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	bad := func(err error) string {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, err)
		}
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return "invalid JSON: unexpected end of line"
		}
		return "invalid JSON: " + err.Error()
	}
	t, err := dec.Token()
	if err != nil {
		return nil, nil, bad(err)
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, nil, "not a JSON object"
	}
	var keys []string
	var vals [][]byte
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, bad(err)
		}
		k := t.(string)
		if seen[k] {
			return nil, nil, fmt.Sprintf("key %q appears twice", k)
		}
		seen[k] = true
		t, err = dec.Token()
		if err != nil {
			return nil, nil, bad(err)
		}
		var v []byte
		switch x := t.(type) {
		case nil:
		case string:
			v = []byte(x)
		case json.Number:
			v = []byte(x)
		case bool:
			v = []byte(strconv.FormatBool(x))
		case json.Delim:
			return nil, nil, fmt.Sprintf("key %q holds a nested %s", k, map[json.Delim]string{'[': "array", '{': "object"}[x])
		}
		keys = append(keys, k)
		vals = append(vals, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, bad(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, "data after the JSON object"
	}
	return keys, vals, ""
}
