package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// ParquetReader reads the rows of a Parquet file with flat columns (no
// groups, no repeated fields), one row group at a time, through
// github.com/parquet-go/parquet-go. Values become the text the CSV reader
// would see: floats in their shortest round-trip form (float32 columns as
// float32), integers in decimal, booleans as "true"/"false", byte arrays as
// text (a value that is not UTF-8 is a bad row), nulls as empty. Logical
// types (dates, decimals, timestamps) are read as their physical value. The
// "line" of a row is its 1-based row number.
//
// Use it for trusted files only: see the package documentation.
type ParquetReader struct {
	ra     *ioErrReaderAt
	f      *parquet.File
	header []string
	kinds  []parquet.Kind
	groups []parquet.RowGroup
	group  int
	rows   parquet.Rows
	buf    []parquet.Row
	n, i   int
	rowNum int
	fields [][]byte
	ends   []int
	text   []byte
}

// ioErrReaderAt remembers a read error of the underlying ReaderAt, so that a
// failed network read is told apart from a malformed file.
type ioErrReaderAt struct {
	r    io.ReaderAt
	size int64
	mu   sync.Mutex
	err  error
}

// errOutside is a read that a malformed file asks for outside its bytes.
var errOutside = errors.New("read outside the file")

func (e *ioErrReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > e.size {
		return 0, errOutside
	}
	if rest := e.size - off; int64(len(p)) > rest {
		n, err := e.ReadAt(p[:rest], off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	n, err := e.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return n, err
}

func (e *ioErrReaderAt) failure() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// parquetErr classifies an error from parquet-go: the ReaderAt's own
// failure is returned as it is, anything else is a malformed file.
func (p *ParquetReader) parquetErr(row int, err error) error {
	if ioErr := p.ra.failure(); ioErr != nil {
		return fmt.Errorf("read parquet: %w", ioErr)
	}
	return &InputError{Line: row, Err: fmt.Errorf("%w: parquet: %v", ErrFormat, err)}
}

// OpenParquet reads the footer and schema of a Parquet file of the given
// size.
func OpenParquet(r io.ReaderAt, size int64) (p *ParquetReader, err error) {
	ra := &ioErrReaderAt{r: r, size: size}
	p = &ParquetReader{ra: ra}
	defer func() {
		// parquet-go may panic on some corrupt footers; a bad file must
		// never crash the function.
		if v := recover(); v != nil {
			p, err = nil, &InputError{Err: fmt.Errorf("%w: parquet: corrupt file (%v)", ErrFormat, v)}
		}
	}()
	if size == 0 {
		return nil, &InputError{Err: fmt.Errorf("%w: 0 bytes", ErrEmpty)}
	}
	if err := checkParquetFrame(ra, size); err != nil {
		return nil, err
	}
	f, err := parquet.OpenFile(ra, size, parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, p.parquetErr(0, err)
	}
	fields := f.Schema().Fields()
	if len(fields) == 0 {
		return nil, &InputError{Err: fmt.Errorf("%w: parquet file without columns", ErrHeader)}
	}
	names := make([][]byte, len(fields))
	for i, fd := range fields {
		if !fd.Leaf() || fd.Repeated() {
			return nil, &InputError{Err: fmt.Errorf("%w: parquet column %q is nested or repeated; only flat columns are supported", ErrFormat, fd.Name())}
		}
		names[i] = []byte(fd.Name())
		p.kinds = append(p.kinds, fd.Type().Kind())
	}
	if p.header, err = checkHeader(names); err != nil {
		return nil, &InputError{Err: err}
	}
	p.f = f
	p.groups = f.RowGroups()
	p.buf = make([]parquet.Row, 128)
	p.fields = make([][]byte, 0, len(fields))
	return p, nil
}

// Header returns the column names.
func (p *ParquetReader) Header() []string { return p.header }

// Next returns the next row.
func (p *ParquetReader) Next() (fields [][]byte, line int, err error) {
	defer func() {
		if v := recover(); v != nil {
			fields, err = nil, &InputError{Line: p.rowNum, Err: fmt.Errorf("%w: parquet: corrupt page (%v)", ErrFormat, v)}
		}
	}()
	for p.i == p.n {
		if err := p.fill(); err != nil {
			return nil, p.rowNum, err
		}
	}
	row := p.buf[p.i]
	p.i++
	p.rowNum++
	if len(row) != len(p.header) {
		return nil, p.rowNum, &RowError{Line: p.rowNum, Reason: fmt.Sprintf("%d values, want %d", len(row), len(p.header))}
	}
	p.text, p.ends = p.text[:0], p.ends[:0]
	for j, v := range row {
		c := v.Column()
		if c != j {
			return nil, p.rowNum, &RowError{Line: p.rowNum, Reason: fmt.Sprintf("value %d belongs to column %d", j, c)}
		}
		if !v.IsNull() {
			switch p.kinds[j] {
			case parquet.Boolean:
				p.text = strconv.AppendBool(p.text, v.Boolean())
			case parquet.Int32:
				p.text = strconv.AppendInt(p.text, int64(v.Int32()), 10)
			case parquet.Int64:
				p.text = strconv.AppendInt(p.text, v.Int64(), 10)
			case parquet.Float:
				p.text = strconv.AppendFloat(p.text, float64(v.Float()), 'g', -1, 32)
			case parquet.Double:
				p.text = strconv.AppendFloat(p.text, v.Double(), 'g', -1, 64)
			case parquet.ByteArray, parquet.FixedLenByteArray:
				b := v.ByteArray()
				if !utf8.Valid(b) {
					return nil, p.rowNum, &RowError{Line: p.rowNum, Column: p.header[j], Reason: "binary value that is not UTF-8 text"}
				}
				p.text = append(p.text, b...)
			default:
				return nil, p.rowNum, &RowError{Line: p.rowNum, Column: p.header[j], Reason: fmt.Sprintf("unsupported parquet type %v", p.kinds[j])}
			}
		}
		p.ends = append(p.ends, len(p.text))
	}
	p.fields = p.fields[:0]
	prev := 0
	for _, e := range p.ends {
		p.fields = append(p.fields, p.text[prev:e:e])
		prev = e
	}
	return p.fields, p.rowNum, nil
}

// fill reads the next batch of rows, moving to the next row group as needed.
func (p *ParquetReader) fill() error {
	for {
		if p.rows == nil {
			if p.group == len(p.groups) {
				return io.EOF
			}
			p.rows = p.groups[p.group].Rows()
			p.group++
		}
		n, err := p.rows.ReadRows(p.buf)
		p.i, p.n = 0, n
		if err == io.EOF || (err == nil && n == 0) {
			p.rows.Close()
			p.rows = nil
			if n > 0 {
				return nil
			}
			continue
		}
		if err != nil {
			p.rows.Close()
			p.rows = nil
			return p.parquetErr(p.rowNum+1, err)
		}
		return nil
	}
}

// Close releases the current row group reader.
func (p *ParquetReader) Close() error {
	if p.rows != nil {
		err := p.rows.Close()
		p.rows = nil
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("close parquet: %w", err)
		}
	}
	return nil
}

// checkParquetFrame checks the magic at both ends and that the footer length
// fits in the file, before parquet-go allocates a buffer of that length (a
// corrupt length would make it allocate gigabytes).
func checkParquetFrame(ra *ioErrReaderAt, size int64) error {
	bad := func(format string, a ...any) error {
		return &InputError{Err: fmt.Errorf("%w: parquet: %s", ErrFormat, fmt.Sprintf(format, a...))}
	}
	if size < 12 {
		return bad("%d bytes, too short for a parquet file", size)
	}
	var head, tail [8]byte
	if _, err := ra.ReadAt(head[:4], 0); err != nil {
		if ioErr := ra.failure(); ioErr != nil {
			return fmt.Errorf("read parquet: %w", ioErr)
		}
		return bad("cannot read the header")
	}
	if _, err := ra.ReadAt(tail[:], size-8); err != nil {
		if ioErr := ra.failure(); ioErr != nil {
			return fmt.Errorf("read parquet: %w", ioErr)
		}
		return bad("cannot read the footer")
	}
	if string(head[:4]) != "PAR1" || string(tail[4:]) != "PAR1" {
		return bad("no PAR1 magic at both ends")
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return bad("footer of %d bytes in a file of %d", n, size)
	}
	return nil
}
