package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Counts summarize one cleaning pass.
type Counts struct {
	Rows  int64 `json:"rows"`  // records read (header excluded)
	Clean int64 `json:"clean"` // rows written to the clean dataset
	Bad   int64 `json:"bad"`   // rows quarantined
	// Columns counts quarantined rows by the column at fault ("" for a row
	// bad as a whole: a syntax error or the wrong field count); nil when no
	// row was quarantined.
	Columns map[string]int64 `json:"columns,omitempty"`
	// Reasons keeps the first reason seen per column, for summaries.
	Reasons map[string]string `json:"-"`
}

// Summary describes the quarantined rows by column, most first, e.g.
// `alcohol: 3 ("abc" is not a number), (row): 1 (4 fields, want 14)`; ""
// when none.
func (c Counts) Summary() string {
	if len(c.Columns) == 0 {
		return ""
	}
	cols := make([]string, 0, len(c.Columns))
	for k := range c.Columns {
		cols = append(cols, k)
	}
	sort.Slice(cols, func(i, j int) bool {
		if c.Columns[cols[i]] != c.Columns[cols[j]] {
			return c.Columns[cols[i]] > c.Columns[cols[j]]
		}
		return cols[i] < cols[j]
	})
	parts := make([]string, 0, len(cols))
	for _, k := range cols {
		name := k
		if name == "" {
			name = "(row)"
		}
		parts = append(parts, fmt.Sprintf("%s: %d (%s)", name, c.Columns[k], c.Reasons[k]))
	}
	return strings.Join(parts, ", ")
}

// Quarantined is one line of the quarantine object (JSON Lines).
type Quarantined struct {
	Line   int      `json:"line"`
	Column string   `json:"column,omitempty"`
	Reason string   `json:"reason"`
	Fields []string `json:"fields,omitempty"`
}

// Clean reads every record of rr, writes the rows that pass v to clean and
// one JSON line per bad row (with its reason) to quarantine. It never holds
// more than one record. Rows with a syntax error, the wrong field count or a
// value the schema rejects are bad rows; an *InputError (bad encoding, say)
// or an I/O error ends the pass. A file with no record at all is ErrNoRows.
func Clean(rr RowReader, v *Validator, clean *Writer, quarantine io.Writer) (Counts, error) {
	var c Counts
	vals := make([]float64, v.Width())
	enc := json.NewEncoder(quarantine)
	enc.SetEscapeHTML(false)
	for {
		fields, line, err := rr.Next()
		if err == io.EOF {
			break
		}
		var re *RowError
		if err != nil {
			var ok bool
			if re, ok = asRowError(err); !ok {
				return c, fmt.Errorf("clean rows: %w", err)
			}
		} else {
			re = v.Row(fields, line, vals)
		}
		c.Rows++
		if re != nil {
			c.Bad++
			if c.Columns == nil {
				c.Columns, c.Reasons = map[string]int64{}, map[string]string{}
			}
			if c.Columns[re.Column]++; c.Columns[re.Column] == 1 {
				c.Reasons[re.Column] = re.Reason
			}
			q := Quarantined{Line: re.Line, Column: re.Column, Reason: re.Reason}
			if fields != nil {
				q.Fields = quarantineFields(fields)
			}
			if err := enc.Encode(q); err != nil {
				return c, fmt.Errorf("clean rows: write quarantine: %w", err)
			}
			continue
		}
		if err := clean.Write(vals); err != nil {
			return c, fmt.Errorf("clean rows: %w", err)
		}
		c.Clean++
	}
	if c.Rows == 0 {
		return c, &InputError{Err: fmt.Errorf("clean rows: %w: the file has a header and no record", ErrNoRows)}
	}
	return c, nil
}

// quarantineFields copies a bad record's fields, cut so that one huge field
// cannot blow up the quarantine object.
func quarantineFields(fields [][]byte) []string {
	const maxField, maxFields = 256, 1000
	out := make([]string, 0, min(len(fields), maxFields))
	for i, f := range fields {
		if i == maxFields {
			out = append(out, fmt.Sprintf("... %d more fields", len(fields)-maxFields))
			break
		}
		s := string(f)
		if len(s) > maxField {
			cut := maxField
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			s = s[:cut] + "..."
		}
		out = append(out, strings.Clone(s))
	}
	return out
}

// asRowError is errors.As for *RowError, in its own function so that the
// target's escape to the heap costs only on the error path.
func asRowError(err error) (*RowError, bool) {
	var re *RowError
	if errors.As(err, &re) {
		return re, true
	}
	return nil, false
}
