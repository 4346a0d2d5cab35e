package serve

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/megapipe/mega/shared/features"
)

// InputError is a request the server cannot run: it names the field at fault
// and becomes a 400 answer.
type InputError struct {
	Field  string // "instances[2].age", "inputs.age", "inputs[0].shape"
	Reason string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// DefaultMaxInstances bounds the instances of one request.
const DefaultMaxInstances = 1024

// batch is the per-request scratch: raw cells, the model input, outputs and
// the response buffer. Batches are pooled so that a request allocates
// little.
type batch struct {
	n     int
	nf    int
	cells []cell
	x     []float32
	out   []float32
	sc    scanner
	resp  []byte
	cols  [][]cell // columnar decoding
	max   int
}

var batches = sync.Pool{New: func() any { return &batch{} }}

func getBatch(m *Model, maxInstances int) *batch {
	b := batches.Get().(*batch)
	b.n, b.nf, b.max = 0, len(m.names), maxInstances
	b.cells = b.cells[:0]
	b.sc.buf = b.sc.buf[:0]
	b.resp = b.resp[:0]
	return b
}

func putBatch(b *batch) {
	if cap(b.cells) > 1<<16 || cap(b.resp) > 1<<20 || cap(b.sc.buf) > 1<<20 {
		return // do not keep huge buffers
	}
	batches.Put(b)
}

// addInstance appends an instance of absent cells and returns it.
func (b *batch) addInstance() ([]cell, error) {
	if b.n >= b.max {
		return nil, inputErr("instances", "more than %d instances in one request", b.max)
	}
	b.n++
	k := len(b.cells)
	b.cells = append(b.cells, make([]cell, b.nf)...)
	row := b.cells[k : k+b.nf]
	clear(row)
	return row, nil
}

// instance reads one instance: a list of raw feature values in feature order,
// or an object keyed by feature name.
func (b *batch) instance(m *Model, list string, k int) error {
	s := &b.sc
	field := func() string { // the instance's name, built only for errors
		return list + "[" + strconv.Itoa(k) + "]"
	}
	row, err := b.addInstance()
	if err != nil {
		return err
	}
	switch s.peek() {
	case '[':
		s.i++
		j := 0
		if s.peek() == ']' {
			s.i++
		} else {
			for {
				if j >= b.nf {
					return inputErr(field(), "more than %d values; the model takes %s", b.nf, m.describe())
				}
				if err := s.value(&row[j]); err != nil {
					return err
				}
				j++
				c := s.peek()
				s.i++
				if c == ']' {
					break
				}
				if c != ',' {
					s.i--
					return s.fail("want , or ] in instance")
				}
			}
		}
		if j != b.nf {
			return inputErr(field(), "%d values; the model takes %s", j, m.describe())
		}
	case '{':
		s.i++
		if s.peek() == '}' {
			s.i++
			break
		}
		for {
			key, err := s.str()
			if err != nil {
				return err
			}
			if err := s.expect(':'); err != nil {
				return err
			}
			j, ok := m.index[unsafeString(key)]
			if !ok || m.Spec == nil {
				if err := s.skip(0); err != nil {
					return err
				}
				if m.Spec == nil {
					return inputErr(field(), "this model has no feature names; send a list of %d numbers", m.width)
				}
				return inputErr(field()+"."+string(key), "unknown feature (the model takes %s)", m.describe())
			}
			if err := s.value(&row[j]); err != nil {
				return err
			}
			c := s.peek()
			s.i++
			if c == '}' {
				break
			}
			if c != ',' {
				s.i--
				return s.fail("want , or } in instance")
			}
		}
	default:
		if err := s.skip(0); err != nil {
			return err
		}
		return inputErr(field(), "want a list of feature values or an object keyed by feature name")
	}
	return nil
}

// describe lists the expected features for error messages.
func (m *Model) describe() string {
	const most = 8
	out := strconv.Itoa(len(m.names)) + " features ("
	for i, n := range m.names {
		if i == most {
			out += ", ..."
			break
		}
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out + ")"
}

// instances reads a JSON array of instances.
func (b *batch) instances(m *Model, field string) error {
	s := &b.sc
	if s.peek() != '[' {
		if err := s.skip(0); err != nil {
			return err
		}
		return inputErr(field, "want a list of instances")
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for k := 0; ; k++ {
		if err := b.instance(m, field, k); err != nil {
			return err
		}
		c := s.peek()
		s.i++
		if c == ']' {
			return nil
		}
		if c != ',' {
			s.i--
			return s.fail("want , or ] in %s", field)
		}
	}
}

// columns reads columnar inputs: an object of feature name -> list of
// values, one per instance.
func (b *batch) columns(m *Model) error {
	s := &b.sc
	s.i++ // {
	if cap(b.cols) < b.nf {
		b.cols = make([][]cell, b.nf)
	}
	b.cols = b.cols[:b.nf]
	for j := range b.cols {
		b.cols[j] = b.cols[j][:0]
	}
	seen := make([]bool, b.nf)
	n := -1
	if s.peek() == '}' {
		s.i++
	} else {
		for {
			key, err := s.str()
			if err != nil {
				return err
			}
			if err := s.expect(':'); err != nil {
				return err
			}
			j, ok := m.index[unsafeString(key)]
			if !ok || m.Spec == nil {
				if err := s.skip(0); err != nil {
					return err
				}
				if m.Spec == nil {
					return inputErr("inputs", "this model has no feature names; send a list of rows of %d numbers", m.width)
				}
				return inputErr("inputs."+string(key), "unknown feature (the model takes %s)", m.describe())
			}
			field := "inputs." + m.names[j]
			seen[j] = true
			if s.peek() != '[' {
				if err := s.skip(0); err != nil {
					return err
				}
				return inputErr(field, "want a list with one value per instance")
			}
			s.i++
			col := b.cols[j][:0]
			if s.peek() == ']' {
				s.i++
			} else {
				for {
					if len(col) >= b.max {
						return inputErr(field, "more than %d instances in one request", b.max)
					}
					col = append(col, cell{})
					if err := s.value(&col[len(col)-1]); err != nil {
						return err
					}
					c := s.peek()
					s.i++
					if c == ']' {
						break
					}
					if c != ',' {
						s.i--
						return s.fail("want , or ] in %s", field)
					}
				}
			}
			b.cols[j] = col
			if n >= 0 && len(col) != n {
				return inputErr(field, "%d values, other columns have %d", len(col), n)
			}
			n = len(col)
			c := s.peek()
			s.i++
			if c == '}' {
				break
			}
			if c != ',' {
				s.i--
				return s.fail("want , or } in inputs")
			}
		}
	}
	if n < 0 {
		return inputErr("inputs", "no columns")
	}
	for i := range n {
		row, err := b.addInstance()
		if err != nil {
			return err
		}
		for j := range row {
			if seen[j] {
				row[j] = b.cols[j][i]
			}
		}
	}
	return nil
}

// decodeTF reads a TensorFlow Serving predict body (also the Vertex AI
// body): {"instances": [...]} (row form) or {"inputs": ...} (columnar form:
// an object of feature name -> values, or a list of rows), with optional
// "signature_name" and "parameters". It reports whether the answer is
// columnar.
func (b *batch) decodeTF(m *Model, body []byte) (columnar bool, err error) {
	s := &b.sc
	s.b, s.i = body, 0
	if err := s.expect('{'); err != nil {
		return false, err
	}
	var haveInstances, haveInputs bool
	if s.peek() == '}' {
		s.i++
	} else {
		for {
			key, err := s.str()
			if err != nil {
				return false, err
			}
			if err := s.expect(':'); err != nil {
				return false, err
			}
			switch string(key) {
			case "instances":
				if haveInstances || haveInputs {
					return false, inputErr("instances", "give either instances or inputs, once")
				}
				haveInstances = true
				if err := b.instances(m, "instances"); err != nil {
					return false, err
				}
			case "inputs":
				if haveInstances || haveInputs {
					return false, inputErr("inputs", "give either instances or inputs, once")
				}
				haveInputs = true
				if s.peek() == '{' {
					err = b.columns(m)
				} else {
					err = b.instances(m, "inputs")
				}
				if err != nil {
					return false, err
				}
			default: // signature_name, parameters, and anything else
				if err := s.skip(0); err != nil {
					return false, err
				}
			}
			c := s.peek()
			s.i++
			if c == '}' {
				break
			}
			if c != ',' {
				s.i--
				return false, s.fail("want , or } in the request")
			}
		}
	}
	if err := s.end(); err != nil {
		return false, err
	}
	if !haveInstances && !haveInputs {
		return false, inputErr("instances", "missing: send {\"instances\": [...]} or {\"inputs\": ...}")
	}
	if b.n == 0 {
		return false, inputErr(map[bool]string{true: "inputs", false: "instances"}[haveInputs], "no instances")
	}
	return haveInputs, nil
}

// encode turns the raw cells into the model input, with the semantics of
// features.Spec.EncodeObject (checked against it in the tests).
func (b *batch) encode(m *Model, prefix func(i int) string) error {
	w := m.width
	if cap(b.x) < b.n*w {
		b.x = make([]float32, b.n*w)
	}
	b.x = b.x[:b.n*w]
	for i := range b.n {
		row := b.cells[i*b.nf : (i+1)*b.nf]
		if err := m.encodeRow(row, b.x[i*w:(i+1)*w]); err != nil {
			var fe *features.FieldError
			if errors.As(err, &fe) {
				return &InputError{Field: prefix(i) + "." + fe.Field, Reason: fe.Reason}
			}
			return err
		}
	}
	return nil
}

func (m *Model) encodeRow(row []cell, dst []float32) error {
	if m.Spec == nil {
		for j := range row {
			x, err := numberOf(&row[j])
			if err != nil {
				return &features.FieldError{Field: m.names[j], Reason: err.Error()}
			}
			dst[j] = float32(x)
		}
		return nil
	}
	clear(dst)
	for k := range m.Spec.Inputs {
		in := &m.Spec.Inputs[k]
		f := &m.Spec.Features[in.Column]
		c := &row[in.Column]
		if c.kind == cellAbsent || c.kind == cellNull {
			if !f.Nullable {
				return &features.FieldError{Field: f.Name, Reason: "missing"}
			}
			if in.Kind == "numeric" {
				dst[k] = float32(in.Impute)
			}
			continue
		}
		if in.Kind == "numeric" {
			x, err := numberOf(c)
			if err != nil {
				return &features.FieldError{Field: f.Name, Reason: err.Error()}
			}
			dst[k] = float32(x)
			continue
		}
		if c.kind != cellStr {
			return &features.FieldError{Field: f.Name, Reason: "want a category (string), got " + kindName(c.kind)}
		}
		if unsafeString(c.str) == in.Value {
			dst[k] = 1
		}
	}
	return nil
}

func numberOf(c *cell) (float64, error) {
	switch c.kind {
	case cellNum:
		if c.bad != "" {
			return 0, errors.New("not a finite number")
		}
		return c.num, nil
	case cellAbsent, cellNull:
		return 0, errors.New("missing")
	case cellStr:
		return 0, fmt.Errorf("want a number, got the string %q", c.str)
	}
	return 0, errors.New("want a number, got " + kindName(c.kind))
}

func kindName(k cellKind) string {
	switch k {
	case cellNum:
		return "a number"
	case cellStr:
		return "a string"
	case cellBool:
		return "a boolean"
	case cellNull, cellAbsent:
		return "null"
	}
	return "a list or object"
}
