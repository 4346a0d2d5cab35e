package dataset

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func jsonlRecords(in io.Reader) ([]string, []string, error) {
	r, err := OpenJSONL(in)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	for {
		fields, line, err := r.Next()
		if err == io.EOF {
			return r.Header(), out, nil
		}
		var re *RowError
		if errors.As(err, &re) {
			out = append(out, "ERR "+re.Reason)
			if re.Line != line {
				return nil, nil, errors.New("row error line mismatch")
			}
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		rec := make([]string, len(fields))
		for i, f := range fields {
			rec[i] = string(f)
		}
		out = append(out, strings.Join(quoteAll(rec), "|"))
	}
}

func TestJSONL(t *testing.T) {
	in := `{"a": 1.50, "b": "x", "c": true}` + "\r\n\n" +
		`{"b": null, "a": -2e3}` + "\n" +
		`{"a": 1, "z": 2}` + "\n" +
		`[1,2]` + "\n" +
		`{"a": {"n": 1}}` + "\n" +
		`{"a": 1, "a": 2}` + "\n" +
		`{"a": 1` + "\n" +
		`{"a": 1} {}` + "\n" +
		`{"b": "é,\"q\""}`
	h, got, err := jsonlRecords(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"<1.50>|<x>|<true>",
		"<-2e3>|<>|<>",
		`ERR key "z" is not a column (columns come from the first line)`,
		"ERR not a JSON object",
		`ERR key "a" holds a nested object`,
		`ERR key "a" appears twice`,
		"ERR invalid JSON: unexpected end of line",
		"ERR data after the JSON object",
		`<>|<é,"q">|<>`,
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, h); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestJSONLBadFirstLine(t *testing.T) {
	for _, in := range []string{"", "\n\n", "[1]\n", `{"a":1,"a":2}`, `{}`, `{"":1}`, "{\"a\":\xff}"} {
		_, _, err := jsonlRecords(strings.NewReader(in))
		if err == nil || !IsInputError(err) {
			t.Errorf("%q: err = %v, want an InputError", in, err)
		}
	}
}

func FuzzJSONL(f *testing.F) {
	f.Add([]byte(`{"a": 1.50, "b": "x"}` + "\n" + `{"b": null}` + "\n"))
	f.Add([]byte("{\"a\":[1]}\n{\"a\":1}\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, recs, err := jsonlRecords(bytes.NewReader(b))
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("error %v is not an InputError", err)
			}
			return
		}
		if len(h) == 0 || len(recs) == 0 {
			t.Fatalf("accepted with header %v and %d records", h, len(recs))
		}
	})
}
