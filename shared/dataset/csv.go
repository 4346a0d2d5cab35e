package dataset

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unicode/utf8"
)

// MaxLineBytes bounds one physical line (and one record) of a text file, so
// that a file without newlines cannot make a reader hold it whole.
const MaxLineBytes = 4 << 20

const readChunk = 64 << 10

// lineReader hands out physical lines of an io.Reader as slices of its own
// buffer, checking that every byte is UTF-8 text without NUL bytes. It is the
// part of bufio.Reader.ReadSlice the scanners need, with a buffer that grows
// up to MaxLineBytes.
type lineReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	err        error // sticky read error (io.EOF at the end)
	line       int   // physical lines returned so far
	bomChecked bool
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: r, buf: make([]byte, readChunk)}
}

// fill reads more input, moving unread bytes to the front and growing the
// buffer when it is full.
func (l *lineReader) fill() {
	if l.start > 0 {
		n := copy(l.buf, l.buf[l.start:l.end])
		l.start, l.end = 0, n
	}
	if l.end == len(l.buf) {
		if len(l.buf) >= MaxLineBytes+1 {
			return
		}
		nb := make([]byte, min(2*len(l.buf), MaxLineBytes+1))
		copy(nb, l.buf[:l.end])
		l.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := l.r.Read(l.buf[l.end:])
		l.end += n
		if err != nil {
			l.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	l.err = io.ErrNoProgress
}

// next returns the next physical line including its '\n' (absent on the last
// line of a file without a final newline). It returns io.EOF when the input
// is exhausted, an *InputError for text that is not UTF-8 or a line that is
// too long, and any other read error unchanged.
func (l *lineReader) next() ([]byte, error) {
	scanned := 0
	for {
		if !l.bomChecked && (l.end-l.start >= 3 || l.err != nil) {
			l.bomChecked = true
			if bytes.HasPrefix(l.buf[l.start:l.end], bom) {
				l.start += len(bom)
			}
		}
		if l.bomChecked {
			if i := bytes.IndexByte(l.buf[l.start+scanned:l.end], '\n'); i >= 0 {
				line := l.buf[l.start : l.start+scanned+i+1]
				l.start += scanned + i + 1
				return l.checked(line)
			}
			scanned = l.end - l.start
		}
		if l.err != nil {
			if l.end > l.start {
				line := l.buf[l.start:l.end]
				l.start = l.end
				return l.checked(line)
			}
			return nil, l.err
		}
		if l.end-l.start > MaxLineBytes {
			return nil, &InputError{Line: l.line + 1, Err: fmt.Errorf("%w: a line is longer than %d bytes", ErrFormat, MaxLineBytes)}
		}
		l.fill()
	}
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func (l *lineReader) checked(line []byte) ([]byte, error) {
	l.line++
	if len(line) > MaxLineBytes {
		return nil, &InputError{Line: l.line, Err: fmt.Errorf("%w: a line is longer than %d bytes", ErrFormat, MaxLineBytes)}
	}
	if i := bytes.IndexByte(line, 0); i >= 0 {
		return nil, &InputError{Line: l.line, Err: fmt.Errorf("%w: NUL byte at column %d (binary data or UTF-16 text)", ErrEncoding, i+1)}
	}
	if !utf8.Valid(line) {
		col := 1
		for b := line; len(b) > 0; col++ {
			r, n := utf8.DecodeRune(b)
			if r == utf8.RuneError && n <= 1 {
				break
			}
			b = b[n:]
		}
		return nil, &InputError{Line: l.line, Err: fmt.Errorf("%w: invalid UTF-8 at character %d", ErrEncoding, col)}
	}
	return line, nil
}

// CSVReader reads records of RFC 4180 CSV with the exact semantics of
// encoding/csv.Reader with default settings (comma separator, no comment
// character, strict quotes) and a variable number of fields per record:
// "\r\n" is read as "\n", empty lines are skipped, a quoted field may hold
// commas, doubled quotes and newlines, a trailing "\r" before end of file is
// dropped. In addition a leading UTF-8 byte order mark is removed and every
// line must be valid UTF-8 without NUL bytes.
//
// Records whose quotes are malformed come back as a *RowError and reading
// continues on the next line, as with encoding/csv. Fields are slices into
// the reader's buffers, valid until the next call to Next.
type CSVReader struct {
	lr     *lineReader
	fields [][]byte
	ends   []int
	rec    []byte
	header []string
	hline  int
}

// NewCSVReader returns a CSV record reader over r. It does not read a header;
// see OpenCSV for that.
func NewCSVReader(r io.Reader) *CSVReader {
	return &CSVReader{lr: newLineReader(r)}
}

// nextLine is readLine of encoding/csv: one physical line with "\r\n"
// normalized to "\n" and a trailing "\r" before EOF dropped.
func (c *CSVReader) nextLine() ([]byte, error) {
	line, err := c.lr.next()
	if err != nil {
		return nil, err
	}
	n := len(line)
	if line[n-1] != '\n' {
		if line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, nil
	}
	if n >= 2 && line[n-2] == '\r' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, nil
}

// Next returns the fields of the next record and the line it starts on. At
// the end of input it returns io.EOF.
func (c *CSVReader) Next() ([][]byte, int, error) {
	var line []byte
	var err error
	for {
		line, err = c.nextLine()
		if err != nil {
			return nil, c.lr.line, err
		}
		if !(len(line) == 1 && line[0] == '\n') && len(line) > 0 {
			break
		}
	}
	start := c.lr.line
	if bytes.IndexByte(line, '"') < 0 {
		// Fast path: no quotes, fields are slices of the line.
		line = line[:len(line)-lengthNL(line)]
		c.fields = splitCommas(c.fields[:0], line)
		return c.fields, start, nil
	}
	return c.slowRecord(line, start)
}

func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// slowRecord parses a record holding quotes, following encoding/csv's
// readRecord step by step.
func (c *CSVReader) slowRecord(line []byte, start int) ([][]byte, int, error) {
	c.rec = c.rec[:0]
	c.ends = c.ends[:0]
	col := 1
	var rowErr error
parseField:
	for {
		if len(line) == 0 || line[0] != '"' {
			i := bytes.IndexByte(line, ',')
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			if j := bytes.IndexByte(field, '"'); j >= 0 {
				rowErr = fmt.Errorf("bare \" in non-quoted field at line %d, column %d", c.lr.line, col+j)
				break parseField
			}
			c.rec = append(c.rec, field...)
			c.ends = append(c.ends, len(c.rec))
			if i >= 0 {
				line = line[i+1:]
				col += i + 1
				continue parseField
			}
			break parseField
		}
		// Quoted field.
		line = line[1:]
		col++
		for {
			i := bytes.IndexByte(line, '"')
			if i >= 0 {
				c.rec = append(c.rec, line[:i]...)
				line = line[i+1:]
				col += i + 1
				switch {
				case len(line) > 0 && line[0] == '"':
					c.rec = append(c.rec, '"')
					line = line[1:]
					col++
				case len(line) > 0 && line[0] == ',':
					line = line[1:]
					col++
					c.ends = append(c.ends, len(c.rec))
					continue parseField
				case lengthNL(line) == len(line):
					c.ends = append(c.ends, len(c.rec))
					break parseField
				default:
					rowErr = fmt.Errorf("extraneous or missing \" in quoted field at line %d, column %d", c.lr.line, col-1)
					break parseField
				}
			} else if len(line) > 0 {
				c.rec = append(c.rec, line...)
				if len(c.rec) > MaxLineBytes {
					return nil, start, &InputError{Line: start, Err: fmt.Errorf("%w: a record is longer than %d bytes", ErrFormat, MaxLineBytes)}
				}
				col += len(line)
				var err error
				line, err = c.nextLine()
				if err == io.EOF {
					line = nil
				} else if err != nil {
					return nil, start, err
				}
				if len(line) > 0 {
					col = 1
				}
			} else {
				rowErr = fmt.Errorf("extraneous or missing \" in quoted field: end of file inside a quoted field started on line %d", start)
				break parseField
			}
		}
	}
	if rowErr != nil {
		return nil, start, &RowError{Line: start, Reason: rowErr.Error()}
	}
	c.fields = c.fields[:0]
	prev := 0
	for _, e := range c.ends {
		c.fields = append(c.fields, c.rec[prev:e])
		prev = e
	}
	return c.fields, start, nil
}

// OpenCSV reads the header record of a CSV file and returns a RowReader over
// its data records. A file with no record at all is ErrEmpty.
func OpenCSV(r io.Reader) (*CSVReader, error) {
	c := NewCSVReader(r)
	fields, line, err := c.Next()
	if err == io.EOF {
		return nil, &InputError{Line: 1, Err: fmt.Errorf("%w: no header record", ErrEmpty)}
	}
	var re *RowError
	if errors.As(err, &re) {
		return nil, &InputError{Line: re.Line, Err: fmt.Errorf("%w: header: %s", ErrHeader, re.Reason)}
	}
	if err != nil {
		return nil, err
	}
	h, err := checkHeader(fields)
	if err != nil {
		return nil, &InputError{Line: line, Err: err}
	}
	c.header, c.hline = h, line
	return c, nil
}

// Header returns the column names.
func (c *CSVReader) Header() []string { return c.header }

func checkHeader(fields [][]byte) ([]string, error) {
	h := make([]string, len(fields))
	seen := make(map[string]int, len(fields))
	for i, f := range fields {
		name := string(trimSpace(f))
		if name == "" {
			return nil, fmt.Errorf("%w: column %d has an empty name", ErrHeader, i+1)
		}
		if j, dup := seen[name]; dup {
			return nil, fmt.Errorf("%w: columns %d and %d are both named %q", ErrHeader, j+1, i+1, name)
		}
		seen[name] = i
		h[i] = name
	}
	return h, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// splitCommas appends the comma-separated fields of line to dst. It finds
// commas eight bytes at a time (a SWAR zero-byte test on line XOR ",,,,,,,,":
// the lowest flagged byte is always a real comma), which beats both a byte
// loop and bytes.IndexByte on the short fields of numeric CSV.
func splitCommas(dst [][]byte, line []byte) [][]byte {
	const ones, highs, commas = 0x0101010101010101, 0x8080808080808080, 0x2C2C2C2C2C2C2C2C
	s, i := 0, 0
	for i+8 <= len(line) {
		x := binary.LittleEndian.Uint64(line[i:]) ^ commas
		m := (x - ones) &^ x & highs
		if m == 0 {
			i += 8
			continue
		}
		j := i + bits.TrailingZeros64(m)/8
		dst = append(dst, line[s:j:j])
		s, i = j+1, j+1
	}
	for ; i < len(line); i++ {
		if line[i] == ',' {
			dst = append(dst, line[s:i:i])
			s = i + 1
		}
	}
	return append(dst, line[s:len(line):len(line)])
}
