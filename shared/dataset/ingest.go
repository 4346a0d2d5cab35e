package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
)

// Format is the encoding of a dropped file.
type Format string

const (
	CSV     Format = "csv"
	JSONL   Format = "jsonl"
	Parquet Format = "parquet"
)

// DetectFormat chooses the format of a dropped file from its name, then from
// its first bytes: a file starting with the Parquet magic "PAR1" or named
// ".parquet" is Parquet; ".jsonl", ".ndjson" and ".json" are JSON Lines,
// ".csv" and ".txt" CSV; otherwise a file whose first non-blank character is
// "{" is JSON Lines and anything else CSV.
func DetectFormat(name string, head []byte) Format {
	if bytes.HasPrefix(head, []byte("PAR1")) || strings.EqualFold(path.Ext(name), ".parquet") {
		return Parquet
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".jsonl", ".ndjson", ".json":
		return JSONL
	case ".csv", ".txt":
		return CSV
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(head, bom), " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		return JSONL
	}
	return CSV
}

// errNeedRandomAccess is returned by Open for Parquet, which is read through
// an io.ReaderAt (OpenParquet).
var errNeedRandomAccess = fmt.Errorf("%w: Parquet input is not enabled here (it needs random access, and the Parquet reader is for trusted files only); drop CSV or JSON Lines", ErrFormat)

// Open detects the format of r (named name) and reads its header.
func Open(r io.Reader, name string) (RowReader, Format, error) {
	br := bufio.NewReaderSize(r, 4096)
	head, err := br.Peek(512)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, "", fmt.Errorf("open %s: %w", name, err)
	}
	f := DetectFormat(name, head)
	if f == Parquet {
		return nil, f, &InputError{Err: errNeedRandomAccess}
	}
	if len(bytes.TrimSpace(bytes.TrimPrefix(head, bom))) == 0 && len(head) < 512 {
		return nil, f, &InputError{Err: fmt.Errorf("%w: %d bytes, no data", ErrEmpty, len(head))}
	}
	var rr RowReader
	switch f {
	case JSONL:
		rr, err = OpenJSONL(br)
	default:
		rr, err = OpenCSV(br)
	}
	if err != nil {
		return nil, f, err
	}
	return rr, f, nil
}

// Source opens the dropped file from its start. Ingest calls it once, or
// twice when it must infer the schema first.
type Source func() (io.ReadCloser, error)

// IngestOptions describe one dropped file.
type IngestOptions struct {
	Name   string  // object name, for format detection and messages
	Schema *Schema // the dataset's stored schema; nil on the first drop
	Infer  InferOptions
	// OpenAt gives random access to the file and its size, which Parquet
	// needs. When nil, Parquet files are refused with a clear reason.
	OpenAt func() (io.ReaderAt, int64, error)
}

// Result is the outcome of Ingest.
type Result struct {
	Schema   *Schema `json:"-"`
	Inferred bool    `json:"schema_inferred"`
	Format   Format  `json:"format"`
	Counts
}

// Ingest validates a dropped file: it infers the schema in a first pass when
// none is stored, then streams every row, writing good rows to clean in the
// compact format and bad rows with reasons to quarantine (JSON Lines).
// Content problems are *InputError; other errors come from open or the
// writers and may be retried.
func Ingest(open Source, opt IngestOptions, clean, quarantine io.Writer) (Result, error) {
	res := Result{Schema: opt.Schema}
	if res.Schema != nil && opt.Infer.Label != "" && opt.Infer.Label != res.Schema.Label {
		return res, &InputError{Err: fmt.Errorf("%w: label %q from the object's metadata, but dataset %q has label %q", ErrSchemaMismatch, opt.Infer.Label, res.Schema.Dataset, res.Schema.Label)}
	}
	if res.Schema == nil {
		err := pass(open, opt, func(rr RowReader, f Format) error {
			res.Format = f
			var err error
			res.Schema, err = Infer(rr, opt.Infer)
			return err
		})
		if err != nil {
			return res, err
		}
		res.Inferred = true
	}
	err := pass(open, opt, func(rr RowReader, f Format) error {
		res.Format = f
		v, err := NewValidator(res.Schema, rr.Header())
		if err != nil {
			return err
		}
		w, err := NewWriter(clean, res.Schema)
		if err != nil {
			return err
		}
		res.Counts, err = Clean(rr, v, w, quarantine)
		if err != nil {
			return err
		}
		return w.Close()
	})
	return res, err
}

func pass(open Source, opt IngestOptions, fn func(RowReader, Format) error) error {
	name := opt.Name
	rc, err := open()
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer rc.Close()
	rr, f, err := Open(rc, name)
	if f == Parquet && opt.OpenAt != nil {
		ra, size, err2 := opt.OpenAt()
		if err2 != nil {
			return fmt.Errorf("read %s: %w", name, err2)
		}
		pr, err2 := OpenParquet(ra, size)
		if err2 != nil {
			return fmt.Errorf("read %s: %w", name, err2)
		}
		defer pr.Close()
		rr, err = pr, nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if err := fn(rr, f); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}
