package dataset

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
)

// RowReader is a source of records: CSV, JSONL or Parquet.
type RowReader interface {
	// Header returns the column names, in file order.
	Header() []string
	// Next returns the fields of the next record and the line (or row
	// number) where it starts. Fields are valid until the next call. At the
	// end it returns io.EOF. A *RowError is one bad record (reading may go
	// on); an *InputError ends the file; anything else is an I/O failure.
	Next() ([][]byte, int, error)
}

// InferOptions tune schema inference. The zero value uses the defaults.
type InferOptions struct {
	Dataset string
	// Label names the label column (the object's "label" metadata). When
	// empty, a column named "label" is the label.
	Label string
	// MaxCategories bounds the vocabulary of a categorical column
	// [DefaultMaxCategories]. A text column with more distinct values is an
	// inference error: it is no categorical feature (an id, free text).
	MaxCategories int
	// MaxClasses bounds the classes of a classification label
	// [DefaultMaxClasses]. A numeric label of whole numbers with at most
	// MaxClasses distinct values is a class label; other numeric labels
	// are regression targets.
	MaxClasses int
	// RangeMargin widens the observed range [lo, hi] of a numeric column to
	// [lo - m*w, hi + m*w] with w = hi - lo (or max(|lo|, 1) for a constant
	// column) [DefaultRangeMargin]. A column never negative stays >= 0.
	// A negative margin leaves ranges open (no min or max).
	RangeMargin float64
	// NumericShare is the share of a column's non-missing values that must
	// be finite numbers for the column to be numeric [DefaultNumericShare].
	// The others are bad values: the cleaning pass quarantines their rows
	// with a reason. A value of 1 or more asks for every value.
	NumericShare float64
}

// Defaults of InferOptions.
const (
	DefaultMaxCategories = 1000
	DefaultMaxClasses    = 50
	DefaultRangeMargin   = 0.5
	DefaultNumericShare  = 0.95
)

type colStats struct {
	whole      bool
	seen       int // non-missing values
	nums       int // non-missing values that are finite numbers
	infs       int // non-missing values that are infinite numbers
	missing    int
	lo, hi     float64
	vocab      map[string]struct{}  // distinct non-missing values, non-finite numbers excluded
	numVocab   map[float64]struct{} // distinct finite numbers, while few
	overflowed bool
	bound      int
}

func (c *colStats) add(v []byte) {
	if len(v) == 0 || isNaNToken(v) {
		c.missing++
		return
	}
	c.seen++
	f, ok := parseFloat(v)
	if ok && !finite(f) {
		// inf, Infinity and their kind are bad values, never a category
		// nor a number: they count against the numeric share and their
		// rows are quarantined by the cleaning pass.
		c.infs++
		return
	}
	if !c.overflowed {
		if _, ok := c.vocab[string(v)]; !ok {
			if len(c.vocab) >= c.bound {
				c.overflowed = true
				c.vocab = nil
			} else {
				c.vocab[string(v)] = struct{}{}
			}
		}
	}
	if !ok {
		return
	}
	c.nums++
	if c.whole && !isWhole(f) {
		c.whole = false
	}
	if c.numVocab != nil {
		c.numVocab[f+0] = struct{}{} // +0 folds -0 into 0
		if len(c.numVocab) > c.bound {
			c.numVocab = nil
		}
	}
	if c.nums == 1 || f < c.lo {
		c.lo = f
	}
	if c.nums == 1 || f > c.hi {
		c.hi = f
	}
}

// numeric applies the rule: a column is numeric when at least share of its
// values that are neither missing nor infinite are finite numbers (an
// all-missing column is numeric; a column of infinities only is not).
func (c *colStats) numeric(share float64) bool {
	if c.seen == 0 {
		return true // all missing: a nullable numeric column
	}
	if c.nums == 0 {
		return false
	}
	text := c.seen - c.nums - c.infs
	if share >= 1 {
		return text == 0
	}
	return float64(c.nums) >= share*float64(c.nums+text)
}

// Infer reads every record of rr and returns the schema it implies. Records
// with a syntax error or the wrong number of fields are skipped here (the
// cleaning pass quarantines them). A file without a good record is ErrNoRows.
func Infer(rr RowReader, opt InferOptions) (*Schema, error) {
	if opt.MaxCategories <= 0 {
		opt.MaxCategories = DefaultMaxCategories
	}
	if opt.MaxClasses <= 0 {
		opt.MaxClasses = DefaultMaxClasses
	}
	if opt.RangeMargin == 0 {
		opt.RangeMargin = DefaultRangeMargin
	}
	if opt.NumericShare <= 0 {
		opt.NumericShare = DefaultNumericShare
	}
	header := rr.Header()
	label := opt.Label
	if label == "" {
		label = "label"
	}
	li := slices.Index(header, label)
	if li < 0 {
		if opt.Label != "" {
			return nil, &InputError{Err: fmt.Errorf("infer schema: %w: label column %q (from the object's label metadata) is not in the header", ErrNoLabel, opt.Label)}
		}
		return nil, &InputError{Err: fmt.Errorf("infer schema: %w: no column is named \"label\"; set the object's label metadata (mega drop --label COL)", ErrNoLabel)}
	}
	if len(header) < 2 {
		return nil, &InputError{Err: fmt.Errorf("infer schema: %w: the label is the only column", ErrInference)}
	}
	stats := make([]colStats, len(header))
	for i := range stats {
		stats[i] = colStats{whole: true, vocab: map[string]struct{}{}, numVocab: map[float64]struct{}{}, bound: opt.MaxCategories}
	}
	stats[li].bound = max(opt.MaxClasses, opt.MaxCategories)
	rows := 0
	for {
		fields, _, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if _, ok := err.(*RowError); ok {
				continue
			}
			return nil, fmt.Errorf("infer schema: %w", err)
		}
		if len(fields) != len(header) {
			continue
		}
		rows++
		for i, f := range fields {
			stats[i].add(trimSpace(f))
		}
	}
	if rows == 0 {
		return nil, &InputError{Err: fmt.Errorf("infer schema: %w: the file has a header and no well-formed record", ErrNoRows)}
	}
	s := &Schema{Version: SchemaVersion, Dataset: opt.Dataset, Label: label}
	for i, name := range header {
		st := &stats[i]
		numeric := st.numeric(opt.NumericShare)
		f := Feature{Name: name, Nullable: st.missing > 0}
		switch {
		case i == li:
			f.Type, f.Nullable = Label, false
			if st.seen == 0 {
				return nil, &InputError{Err: fmt.Errorf("infer schema: %w: label column %q is empty in every row", ErrInference, name)}
			}
			if st.nums == 0 && len(st.vocab) == 0 {
				return nil, &InputError{Err: fmt.Errorf("infer schema: %w: label column %q has no finite value", ErrInference, name)}
			}
			if numeric && !(st.whole && st.numVocab != nil && len(st.numVocab) <= opt.MaxClasses) {
				s.Task = Regression
				f.ObservedMin, f.ObservedMax = ptr(st.lo), ptr(st.hi)
				break
			}
			if !numeric && (st.overflowed || len(st.vocab) > opt.MaxClasses) {
				return nil, &InputError{Err: fmt.Errorf("infer schema: %w: label column %q has more than %d distinct non-numeric values", ErrInference, name, opt.MaxClasses)}
			}
			s.Task = Classification
			if numeric {
				f.Values = numVocabulary(st.numVocab)
			} else {
				f.Values = vocabulary(st.vocab)
			}
		case numeric:
			f.Type = Numeric
			if st.nums > 0 {
				f.ObservedMin, f.ObservedMax = ptr(st.lo), ptr(st.hi)
				if opt.RangeMargin > 0 {
					f.Min, f.Max = widen(st.lo, st.hi, opt.RangeMargin)
				}
			}
		default:
			if st.overflowed {
				return nil, &InputError{Err: fmt.Errorf("infer schema: %w: column %q has more than %d distinct text values, too many for a categorical feature (an id or free text?): drop the column or store a schema", ErrInference, name, opt.MaxCategories)}
			}
			f.Type = Categorical
			f.Values = vocabulary(st.vocab)
		}
		s.Features = append(s.Features, f)
	}
	if err := s.Check(); err != nil {
		return nil, &InputError{Err: fmt.Errorf("infer schema: %w", err)}
	}
	return s, nil
}

// vocabulary sorts text values by byte order.
func vocabulary(set map[string]struct{}) []string {
	return slices.Sorted(maps.Keys(set))
}

// numVocabulary sorts numeric classes numerically, as canonical numbers.
func numVocabulary(set map[float64]struct{}) []string {
	nums := slices.SortedFunc(maps.Keys(set), cmp.Compare[float64])
	out := make([]string, len(nums))
	for i, f := range nums {
		out[i] = strconv.FormatFloat(f, 'f', -1, 64)
	}
	return out
}

func widen(lo, hi, m float64) (*float64, *float64) {
	w := hi - lo
	if w == 0 {
		w = math.Max(math.Abs(lo), 1)
	}
	a, b := lo-m*w, hi+m*w
	if lo >= 0 && a < 0 {
		a = 0
	}
	if !finite(a) || !finite(b) {
		return nil, nil
	}
	return ptr(a), ptr(b)
}
