package tflite

import (
	"errors"
	"fmt"
)

// Sentinel errors; a *FormatError wraps one of them.
var (
	// ErrTruncated means an offset or length points past the end of the input.
	ErrTruncated = errors.New("truncated or out-of-bounds data")
	// ErrBadIdentifier means the file identifier is not "TFL3".
	ErrBadIdentifier = errors.New("bad file identifier (want TFL3)")
	// ErrBadOffset means a flatbuffer offset or vtable is malformed.
	ErrBadOffset = errors.New("malformed flatbuffer offset")
	// ErrOutOfRange means an index (tensor, buffer, opcode, subgraph) is out of range.
	ErrOutOfRange = errors.New("index out of range")
	// ErrInvalid means a value breaks the schema's rules (shape, quantization, sizes).
	ErrInvalid = errors.New("invalid value")
	// ErrUnsupported means the file uses a feature this package does not read or write.
	ErrUnsupported = errors.New("unsupported feature")
	// ErrTooLarge means decoding would exceed the memory bound derived from the input size.
	ErrTooLarge = errors.New("decoded model exceeds the memory bound")
)

// FormatError reports a bad field of a model, with the path of the field
// (such as "subgraphs[0].tensors[3].shape").
type FormatError struct {
	Path string
	Err  error
	// Detail is an optional human-readable explanation.
	Detail string
}

func (e *FormatError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("tflite: %s: %v: %s", e.Path, e.Err, e.Detail)
	}
	return fmt.Sprintf("tflite: %s: %v", e.Path, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(path string, err error, format string, args ...any) *FormatError {
	return &FormatError{Path: path, Err: err, Detail: fmt.Sprintf(format, args...)}
}
