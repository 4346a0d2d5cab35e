package drift

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText renders the report as a plain-text table for terminals (the
// per-feature table of `mega drift`).
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "FEATURE\tKIND\tMETHOD\tSTATISTIC\tP-VALUE\tTHRESHOLD\tVERDICT\tCOUNT\tMISSING\n")
	cols := r.Features
	if r.Prediction != nil {
		cols = append(cols[:len(cols):len(cols)], *r.Prediction)
	}
	for _, f := range cols {
		p := "-"
		if f.PValue != nil {
			p = fmt.Sprintf("%.3g", *f.PValue)
		}
		m, st := string(f.Method), fmt.Sprintf("%.4g", f.Statistic)
		if f.Method == "" {
			m, st = "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.4g\t%s\t%d\t%d\n", f.Feature, f.Kind, m, st, p, f.Threshold, f.Verdict, f.Count, f.Missing)
	}
	verdict := "no dataset drift"
	if r.DatasetDrift {
		verdict = "DATASET DRIFT"
	}
	fmt.Fprintf(tw, "\n%s: %d of %d evaluated features drifted (%.0f%%, threshold %.0f%%), %d window rows\n",
		verdict, r.Drifted, r.Evaluated, 100*r.DriftShare, 100*r.Policy.DriftShare, r.Rows)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report text: %w", err)
	}
	return nil
}
