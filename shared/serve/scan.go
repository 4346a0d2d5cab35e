package serve

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// cellKind is what one raw feature value of an instance holds.
type cellKind uint8

const (
	cellAbsent cellKind = iota // the instance did not name the feature
	cellNull                   // JSON null
	cellNum                    // a JSON number
	cellStr                    // a JSON string
	cellBool                   // a JSON boolean (always refused)
	cellOther                  // an array or object (always refused)
)

// cell is one raw feature value. Str points into the request body or into
// the scanner's unescape buffer; it is valid until the request ends.
type cell struct {
	kind cellKind
	num  float64
	str  []byte
	bad  string // a number that does not parse as a float64 (kept for the error)
}

// scanner is a small JSON reader for the hot path: it walks the request body
// without building a tree and without allocating for numbers and plain
// strings. It accepts RFC 8259 JSON (checked against encoding/json by
// FuzzDecodeInstances); like encoding/json it lets invalid UTF-8 through in
// strings (it never matches a category, and is logged as U+FFFD).
type scanner struct {
	b   []byte
	i   int
	buf []byte // unescaped strings
}

var errSyntax = errors.New("malformed JSON")

func (s *scanner) fail(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		if s.i >= len(s.b) {
			return s.fail("unexpected end, want %q", c)
		}
		return s.fail("got %q, want %q", s.b[s.i], c)
	}
	s.i++
	return nil
}

func (s *scanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.fail("invalid literal")
	}
	s.i += len(word)
	return nil
}

// str reads a string (the opening quote is next) and returns its unescaped
// bytes, which alias the body when there are no escapes.
func (s *scanner) str() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			out := s.b[start:s.i]
			s.i++
			return out, nil
		case c == '\\':
			return s.strSlow(start)
		case c < 0x20:
			return nil, s.fail("control character in string")
		}
		s.i++
	}
	return nil, s.fail("unterminated string")
}

func (s *scanner) strSlow(start int) ([]byte, error) {
	at := len(s.buf)
	s.buf = append(s.buf, s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.buf[at:len(s.buf):len(s.buf)], nil
		case c < 0x20:
			return nil, s.fail("control character in string")
		case c != '\\':
			s.buf = append(s.buf, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return nil, s.fail("unterminated escape")
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			s.buf = append(s.buf, e)
		case 'b':
			s.buf = append(s.buf, '\b')
		case 'f':
			s.buf = append(s.buf, '\f')
		case 'n':
			s.buf = append(s.buf, '\n')
		case 'r':
			s.buf = append(s.buf, '\r')
		case 't':
			s.buf = append(s.buf, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, s.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					save := s.i
					s.i += 2
					var ok2 bool
					if r2, ok2 = s.hex4(); !ok2 {
						return nil, s.fail("bad \\u escape")
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						s.buf = utf8.AppendRune(s.buf, d)
						continue
					}
					s.i = save
				}
				r = utf8.RuneError
			}
			s.buf = utf8.AppendRune(s.buf, r)
		default:
			return nil, s.fail("bad escape \\%c", e)
		}
	}
	return nil, s.fail("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	s.i += 4
	return r, true
}

// number reads a JSON number and returns its text.
func (s *scanner) number() ([]byte, error) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return nil, s.fail("invalid number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, s.fail("invalid number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, s.fail("invalid number")
		}
	}
	return s.b[start:s.i], nil
}

// value reads one scalar into c; arrays and objects are skipped and marked
// cellOther.
func (s *scanner) value(c *cell) error {
	switch s.peek() {
	case '"':
		b, err := s.str()
		if err != nil {
			return err
		}
		*c = cell{kind: cellStr, str: b}
	case 'n':
		if err := s.literal("null"); err != nil {
			return err
		}
		*c = cell{kind: cellNull}
	case 't', 'f':
		w := "true"
		if s.b[s.i] == 'f' {
			w = "false"
		}
		if err := s.literal(w); err != nil {
			return err
		}
		*c = cell{kind: cellBool}
	case '[', '{':
		if err := s.skip(0); err != nil {
			return err
		}
		*c = cell{kind: cellOther}
	case 0:
		return s.fail("unexpected end")
	default:
		t, err := s.number()
		if err != nil {
			return err
		}
		f, perr := strconv.ParseFloat(unsafeString(t), 64)
		*c = cell{kind: cellNum, num: f}
		if perr != nil || math.IsInf(f, 0) {
			c.bad = string(t)
		}
	}
	return nil
}

// maxDepth bounds nesting in skipped values, as encoding/json does.
const maxDepth = 10000

// skip reads any value.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return s.fail("nesting deeper than %d", maxDepth)
	}
	switch s.peek() {
	case '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return s.fail("want , or ] in array")
			}
		}
	case '{':
		s.i++
		if s.peek() == '}' {
			s.i++
			return nil
		}
		for {
			if _, err := s.str(); err != nil {
				return err
			}
			if err := s.expect(':'); err != nil {
				return err
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.i++
			case '}':
				s.i++
				return nil
			default:
				return s.fail("want , or } in object")
			}
		}
	default:
		var c cell
		return s.value(&c)
	}
}

// end checks that only spaces follow.
func (s *scanner) end() error {
	if s.peek() != 0 {
		return s.fail("data after the JSON value")
	}
	return nil
}

// unsafeString views b as a string without copying; the string must not
// outlive b.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
