package dataset

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// stdRecords reads in with encoding/csv (variable field counts) and returns
// each record, or "ERR" for a record encoding/csv rejects.
func stdRecords(in string) []string {
	r := csv.NewReader(strings.NewReader(in))
	r.FieldsPerRecord = -1
	var out []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return append(out, "IOERR")
			}
			out = append(out, "ERR")
			continue
		}
		out = append(out, strings.Join(quoteAll(rec), "|"))
	}
}

func quoteAll(rec []string) []string {
	q := make([]string, len(rec))
	for i, f := range rec {
		q[i] = "<" + f + ">"
	}
	return q
}

// ourRecords does the same with CSVReader.
func ourRecords(t testing.TB, in io.Reader) ([]string, error) {
	r := NewCSVReader(in)
	var out []string
	for {
		fields, _, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		var re *RowError
		if errors.As(err, &re) {
			out = append(out, "ERR")
			continue
		}
		if err != nil {
			return out, err
		}
		rec := make([]string, len(fields))
		for i, f := range fields {
			rec[i] = string(f)
		}
		out = append(out, strings.Join(quoteAll(rec), "|"))
	}
}

// csvCorpus exercises every branch of encoding/csv's record parser.
var csvCorpus = []string{
	"", "\n", "\r\n", "a", "a\n", "a,b\nc,d\n", "a,b\r\nc,d\r\n", "a,b\r", "a,b\r\r\n", "a\rb,c\n",
	"a,,b\n,\n,,\n", "\n\n a , b \n\n", `"a","b"` + "\n", `"a,b",c`, `"a""b",c`, `"a` + "\n" + `b",c` + "\n",
	`"a` + "\r\n" + `b",c` + "\r\n", `"a"b,c`, `a"b,c`, `"abc`, `"abc` + "\n", `"abc"` + "\n" + `"d`, `""`, `"",""`,
	`"x"` + "\r", `"x"` + "\r\n", `"x" ,y`, `x,"y"z` + "\nok,1\n", `"a` + "\n\n" + `b"`, "a,\"b\nc\"d,e\nf\n",
	"\"\"\"\"\n", "é,ü\n\"ß\",x\n", "a,b\n\"multi\nline\nfield\",c\nlast,row", ",,\"\",\n",
}

func TestCSVReaderMatchesEncodingCSV(t *testing.T) {
	for _, in := range csvCorpus {
		want := stdRecords(in)
		for name, r := range map[string]io.Reader{
			"whole":    strings.NewReader(in),
			"one byte": iotest.OneByteReader(strings.NewReader(in)),
		} {
			got, err := ourRecords(t, r)
			if err != nil {
				t.Fatalf("%q (%s): %v", in, name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%q (%s): records (-encoding/csv +ours):\n%s", in, name, diff)
			}
		}
	}
}

func FuzzCSVReader(f *testing.F) {
	for _, in := range csvCorpus {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ourRecords(t, bytes.NewReader(in))
		valid := utf8.Valid(bytes.TrimPrefix(in, bom)) && bytes.IndexByte(in, 0) < 0
		if !valid {
			if err == nil {
				t.Fatalf("%q: invalid UTF-8 or NUL accepted", in)
			}
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("%q: error %v, want ErrEncoding", in, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		want := stdRecords(string(bytes.TrimPrefix(in, bom)))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%q: records (-encoding/csv +ours):\n%s", in, diff)
		}
	})
}

func TestCSVReaderBOMAndEncoding(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr error
	}{
		{name: "bom stripped", in: "\xef\xbb\xbfa,b\n1,2\n", want: []string{"<a>|<b>", "<1>|<2>"}},
		{name: "bom only", in: "\xef\xbb\xbf", want: nil},
		{name: "bom inside kept", in: "a\n\xef\xbb\xbfb\n", want: []string{"<a>", "<\ufeffb>"}},
		{name: "invalid utf8", in: "a,b\n\xff,1\n", wantErr: ErrEncoding},
		{name: "nul byte", in: "a\x00,b\n", wantErr: ErrEncoding},
		{name: "utf16", in: "\xff\xfea\x00,\x00b\x00", wantErr: ErrEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ourRecords(t, strings.NewReader(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if !IsInputError(err) {
					t.Errorf("err %v is not an InputError", err)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCSVLineTooLong(t *testing.T) {
	in := io.MultiReader(strings.NewReader("a,b\n"), io.LimitReader(repeatReader('x'), MaxLineBytes+10))
	_, err := ourRecords(t, in)
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v, want ErrFormat", err)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestCSVReadErrorIsNotInputError(t *testing.T) {
	boom := errors.New("network down")
	in := io.MultiReader(strings.NewReader("a,b\n1,2\n"), iotest.ErrReader(boom))
	_, err := ourRecords(t, in)
	if !errors.Is(err, boom) || IsInputError(err) {
		t.Fatalf("err = %v, want the read error, not an InputError", err)
	}
}

func FuzzSplitCommas(f *testing.F) {
	f.Add([]byte("1.5,22.25,,333,x"))
	f.Add([]byte(",,,,,,,,,,,,,,,,,"))
	f.Add([]byte("abcdefgh,ijklmnop,"))
	f.Fuzz(func(t *testing.T, line []byte) {
		got := splitCommas(nil, line)
		want := bytes.Split(line, []byte(","))
		if len(got) != len(want) {
			t.Fatalf("%q: %d fields, want %d", line, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%q: field %d = %q, want %q", line, i, got[i], want[i])
			}
		}
	})
}
