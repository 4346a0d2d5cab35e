package dataset

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// The compact format (.mgds) of clean rows. All integers little-endian.
//
//	file   = header block* footer
//	header = "MGDS" | version u16 (=1) | reserved u16 (=0) | n u32 | schema JSON [n] | crc32c(schema JSON) u32
//	block  = rows u32 (1..BlockRows) | columns | crc32c(rows field and columns) u32
//	footer = 0 u32 | total rows u64 | blocks u32 | crc32c(the 16 bytes before) u32, then end of file
//
// Columns follow the schema's feature order, the label included:
//
//	numeric feature, regression label:      rows x float32 (NaN = missing)
//	categorical feature, class label:       rows x code, code width by vocabulary size n:
//	                                        1 byte if n < 255, 2 if n < 65535, else 4;
//	                                        the all-ones code means missing
const (
	formatMagic   = "MGDS"
	formatVersion = 1
	// BlockRows is the number of rows per block the Writer emits.
	BlockRows   = 8192
	maxSchemaSz = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func codeWidth(n int) int {
	switch {
	case n < 0xFF:
		return 1
	case n < 0xFFFF:
		return 2
	default:
		return 4
	}
}

func colWidth(s *Schema, f *Feature) int {
	if f.Type == Numeric || (f.Type == Label && s.Task == Regression) {
		return 4
	}
	return codeWidth(len(f.Values))
}

// Writer writes clean rows in the compact format, one block at a time, so its
// memory does not grow with the number of rows.
type Writer struct {
	w      *bufio.Writer
	s      *Schema
	widths []int
	rowSz  int
	block  []byte // rows field then columns, laid out column by column
	n      int    // rows in the current block
	total  uint64
	blocks uint32
	err    error
}

// NewWriter writes the header for schema s to w.
func NewWriter(w io.Writer, s *Schema) (*Writer, error) {
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("new writer: %w", err)
	}
	js, err := s.MarshalIndent()
	if err != nil {
		return nil, fmt.Errorf("new writer: %w", err)
	}
	wr := &Writer{w: bufio.NewWriterSize(w, 1<<20), s: s}
	for i := range s.Features {
		wd := colWidth(s, &s.Features[i])
		wr.widths = append(wr.widths, wd)
		wr.rowSz += wd
	}
	wr.block = make([]byte, 4+BlockRows*wr.rowSz)
	h := make([]byte, 0, 16+len(js))
	h = append(h, formatMagic...)
	h = binary.LittleEndian.AppendUint16(h, formatVersion)
	h = binary.LittleEndian.AppendUint16(h, 0)
	h = binary.LittleEndian.AppendUint32(h, uint32(len(js)))
	h = append(h, js...)
	h = binary.LittleEndian.AppendUint32(h, crc32.Checksum(js, castagnoli))
	if _, err := wr.w.Write(h); err != nil {
		return nil, fmt.Errorf("new writer: %w", err)
	}
	return wr, nil
}

// Write adds one value row as Validator.Row produces it.
func (w *Writer) Write(vals []float64) error {
	if w.err != nil {
		return w.err
	}
	if len(vals) != len(w.widths) {
		return fmt.Errorf("write row: %d values, want %d", len(vals), len(w.widths))
	}
	off := 4
	for i, wd := range w.widths {
		p := off + w.n*wd
		v := vals[i]
		if wd == 4 && (w.s.Features[i].Type == Numeric || w.s.Features[i].Type == Label && w.s.Task == Regression) {
			binary.LittleEndian.PutUint32(w.block[p:], math.Float32bits(float32(v)))
		} else {
			code := uint32(math.MaxUint32)
			if !math.IsNaN(v) {
				code = uint32(v)
			}
			switch wd {
			case 1:
				w.block[p] = byte(code)
			case 2:
				binary.LittleEndian.PutUint16(w.block[p:], uint16(code))
			default:
				binary.LittleEndian.PutUint32(w.block[p:], code)
			}
		}
		off += BlockRows * wd
	}
	w.n++
	if w.n == BlockRows {
		return w.flush()
	}
	return nil
}

// flush writes the current block compactly (columns of w.n rows each).
func (w *Writer) flush() error {
	if w.n == 0 {
		return nil
	}
	binary.LittleEndian.PutUint32(w.block, uint32(w.n))
	crc := crc32.Update(0, castagnoli, w.block[:4])
	if _, err := w.w.Write(w.block[:4]); err != nil {
		w.err = fmt.Errorf("write block: %w", err)
		return w.err
	}
	off := 4
	for _, wd := range w.widths {
		col := w.block[off : off+w.n*wd]
		crc = crc32.Update(crc, castagnoli, col)
		if _, err := w.w.Write(col); err != nil {
			w.err = fmt.Errorf("write block: %w", err)
			return w.err
		}
		off += BlockRows * wd
	}
	if _, err := w.w.Write(binary.LittleEndian.AppendUint32(nil, crc)); err != nil {
		w.err = fmt.Errorf("write block: %w", err)
		return w.err
	}
	w.total += uint64(w.n)
	w.blocks++
	w.n = 0
	return nil
}

// WriteFrame adds every row of f, a frame of the writer's schema.
func (w *Writer) WriteFrame(f *Frame) error {
	vals := make([]float64, len(w.s.Features))
	for i := 0; i < f.Len; i++ {
		c := 0
		for j, ft := range w.s.Features {
			switch {
			case ft.Type == Label && f.Class != nil:
				vals[j] = float64(f.Class[i])
			case ft.Type == Label:
				vals[j] = float64(f.Target[i])
			case ft.Type == Numeric:
				vals[j] = float64(f.Columns[c].Num[i])
				c++
			default:
				vals[j] = float64(f.Columns[c].Code[i])
				if f.Columns[c].Code[i] < 0 {
					vals[j] = math.NaN()
				}
				c++
			}
		}
		if err := w.Write(vals); err != nil {
			return err
		}
	}
	return nil
}

// Rows returns the number of rows written so far.
func (w *Writer) Rows() int64 { return int64(w.total) + int64(w.n) }

// Close writes the last block and the footer and flushes. It does not close
// the underlying writer.
func (w *Writer) Close() error {
	if err := w.flush(); err != nil {
		return err
	}
	if w.err != nil {
		return w.err
	}
	f := make([]byte, 0, 20)
	f = binary.LittleEndian.AppendUint32(f, 0)
	f = binary.LittleEndian.AppendUint64(f, w.total)
	f = binary.LittleEndian.AppendUint32(f, w.blocks)
	f = binary.LittleEndian.AppendUint32(f, crc32.Checksum(f, castagnoli))
	if _, err := w.w.Write(f); err != nil {
		return fmt.Errorf("close writer: %w", err)
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("close writer: %w", err)
	}
	w.err = errors.New("write row: writer closed")
	return nil
}

// Decoder reads the compact format block by block.
type Decoder struct {
	r      *bufio.Reader
	s      *Schema
	widths []int
	rowSz  int
	buf    []byte
	total  uint64
	blocks uint32
	done   bool
}

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// NewDecoder reads and checks the header.
func NewDecoder(r io.Reader) (*Decoder, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var h [12]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, fmt.Errorf("read dataset header: %w", truncated(err))
	}
	if string(h[:4]) != formatMagic {
		return nil, fmt.Errorf("read dataset header: %w", corrupt("magic %q, want %q", h[:4], formatMagic))
	}
	if v := binary.LittleEndian.Uint16(h[4:]); v != formatVersion {
		return nil, fmt.Errorf("read dataset header: %w", corrupt("version %d, want %d", v, formatVersion))
	}
	if r := binary.LittleEndian.Uint16(h[6:]); r != 0 {
		return nil, fmt.Errorf("read dataset header: %w", corrupt("reserved field %d, want 0", r))
	}
	n := binary.LittleEndian.Uint32(h[8:])
	if n > maxSchemaSz {
		return nil, fmt.Errorf("read dataset header: %w", corrupt("schema of %d bytes", n))
	}
	js := make([]byte, n+4)
	if _, err := io.ReadFull(br, js); err != nil {
		return nil, fmt.Errorf("read dataset header: %w", truncated(err))
	}
	if crc32.Checksum(js[:n], castagnoli) != binary.LittleEndian.Uint32(js[n:]) {
		return nil, fmt.Errorf("read dataset header: %w", corrupt("schema checksum mismatch"))
	}
	s, err := ParseSchema(js[:n])
	if err != nil {
		return nil, fmt.Errorf("read dataset header: %w: %w", ErrCorrupt, err)
	}
	d := &Decoder{r: br, s: s}
	for i := range s.Features {
		wd := colWidth(s, &s.Features[i])
		d.widths = append(d.widths, wd)
		d.rowSz += wd
	}
	return d, nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corrupt("truncated")
	}
	return err
}

// Schema returns the schema stored in the header.
func (d *Decoder) Schema() *Schema { return d.s }

// Next returns the next block as a Frame, or io.EOF after a valid footer.
func (d *Decoder) Next() (*Frame, error) {
	if d.done {
		return nil, io.EOF
	}
	var rb [4]byte
	if _, err := io.ReadFull(d.r, rb[:]); err != nil {
		return nil, fmt.Errorf("read dataset block: %w", truncated(err))
	}
	rows := binary.LittleEndian.Uint32(rb[:])
	if rows == 0 {
		return nil, d.footer()
	}
	if rows > BlockRows {
		return nil, fmt.Errorf("read dataset block %d: %w", d.blocks, corrupt("%d rows, at most %d", rows, BlockRows))
	}
	n := int(rows)*d.rowSz + 4
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	buf := d.buf[:n]
	if _, err := io.ReadFull(d.r, buf); err != nil {
		return nil, fmt.Errorf("read dataset block %d: %w", d.blocks, truncated(err))
	}
	crc := crc32.Update(crc32.Update(0, castagnoli, rb[:]), castagnoli, buf[:n-4])
	if crc != binary.LittleEndian.Uint32(buf[n-4:]) {
		return nil, fmt.Errorf("read dataset block %d: %w", d.blocks, corrupt("checksum mismatch"))
	}
	f, err := d.decode(buf[:n-4], int(rows))
	if err != nil {
		return nil, fmt.Errorf("read dataset block %d: %w", d.blocks, err)
	}
	d.total += uint64(rows)
	d.blocks++
	return f, nil
}

func (d *Decoder) decode(b []byte, rows int) (*Frame, error) {
	f := NewFrame(d.s, rows)
	c := 0
	for i := range d.s.Features {
		ft := &d.s.Features[i]
		wd := d.widths[i]
		col := b[:rows*wd]
		b = b[rows*wd:]
		if ft.Type == Numeric || (ft.Type == Label && d.s.Task == Regression) {
			out := make([]float32, rows)
			for r := range out {
				out[r] = math.Float32frombits(binary.LittleEndian.Uint32(col[4*r:]))
				if ft.Type == Label && !finite(float64(out[r])) {
					return nil, corrupt("label %q: row %d is not finite", ft.Name, r)
				}
			}
			if ft.Type == Label {
				f.Target = out
			} else {
				f.Columns[c].Num = out
				c++
			}
			continue
		}
		out := make([]int32, rows)
		missing := uint32(1)<<(8*wd) - 1
		for r := range out {
			var code uint32
			switch wd {
			case 1:
				code = uint32(col[r])
			case 2:
				code = uint32(binary.LittleEndian.Uint16(col[2*r:]))
			default:
				code = binary.LittleEndian.Uint32(col[4*r:])
			}
			switch {
			case code == missing && ft.Nullable && ft.Type != Label:
				out[r] = -1
			case code < uint32(len(ft.Values)):
				out[r] = int32(code)
			default:
				return nil, corrupt("column %q: row %d has code %d of %d values", ft.Name, r, code, len(ft.Values))
			}
		}
		if ft.Type == Label {
			f.Class = out
		} else {
			f.Columns[c].Code = out
			c++
		}
	}
	f.Len = rows
	return f, nil
}

func (d *Decoder) footer() error {
	var fb [16]byte
	if _, err := io.ReadFull(d.r, fb[:]); err != nil {
		return fmt.Errorf("read dataset footer: %w", truncated(err))
	}
	var all [20]byte
	copy(all[4:], fb[:])
	if crc32.Checksum(all[:16], castagnoli) != binary.LittleEndian.Uint32(fb[12:]) {
		return fmt.Errorf("read dataset footer: %w", corrupt("checksum mismatch"))
	}
	if t := binary.LittleEndian.Uint64(fb[0:]); t != d.total {
		return fmt.Errorf("read dataset footer: %w", corrupt("footer says %d rows, blocks hold %d", t, d.total))
	}
	if b := binary.LittleEndian.Uint32(fb[8:]); b != d.blocks {
		return fmt.Errorf("read dataset footer: %w", corrupt("footer says %d blocks, read %d", b, d.blocks))
	}
	if _, err := d.r.ReadByte(); err != io.EOF {
		if err != nil {
			return fmt.Errorf("read dataset footer: %w", err)
		}
		return fmt.Errorf("read dataset footer: %w", corrupt("data after the footer"))
	}
	d.done = true
	return io.EOF
}

// Load reads a whole compact file into one Frame, keeping the rows for which
// keep returns true (all rows if keep is nil). Featurize uses keep to load
// one split: only the kept rows are held in memory.
func Load(r io.Reader, keep func(block *Frame, row int) bool) (*Frame, error) {
	d, err := NewDecoder(r)
	if err != nil {
		return nil, err
	}
	out := NewFrame(d.s, 0)
	for {
		b, err := d.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if keep == nil && out.Len == 0 {
			out = b
			continue
		}
		for i := 0; i < b.Len; i++ {
			if keep == nil || keep(b, i) {
				out.AppendRow(b, i)
			}
		}
	}
}
