package dataset

import (
	"errors"
	"fmt"
)

// Sentinel errors describing why a file cannot be read at all. They arrive
// wrapped in an *InputError; test with errors.Is.
var (
	ErrEmpty          = errors.New("empty file")
	ErrNoRows         = errors.New("no data rows")
	ErrEncoding       = errors.New("not UTF-8 text")
	ErrFormat         = errors.New("malformed file")
	ErrHeader         = errors.New("bad header")
	ErrSchemaMismatch = errors.New("file does not match the dataset schema")
	ErrNoLabel        = errors.New("no label column")
	ErrInference      = errors.New("cannot infer a schema")
	ErrSchema         = errors.New("invalid schema")
	ErrCorrupt        = errors.New("corrupt dataset file")
)

// InputError is a problem with the content of an input file: retrying cannot
// help, so a Cloud Function ends the run as failed instead of asking for a
// redelivery. Any other error from a reader (a failed network read, say) is
// not an InputError.
type InputError struct {
	Line int // 1-based line of a text file where the problem was found, 0 if none
	Err  error
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }

// IsInputError reports whether err is (or wraps) an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// RowError is one bad row: it goes to the quarantine with its reason, and
// reading continues.
type RowError struct {
	Line   int    // line where the record starts
	Column string // the offending column, "" when the row as a whole is bad
	Reason string // one readable sentence
}

func (e *RowError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("line %d: column %q: %s", e.Line, e.Column, e.Reason)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}
