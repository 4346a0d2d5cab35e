package driftcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/registry"
)

// WriteSummary prints a check for a terminal: a header line with the
// verdict, then one line per feature (and the prediction) with the method,
// statistic, threshold, p-value and verdict, then the report's address.
func WriteSummary(w io.Writer, s Summary) error {
	head := fmt.Sprintf("%s %s: check %s, period %s to %s, %d rows from %d profiles: ", s.Model, s.Version,
		s.CheckTime.UTC().Format("2006-01-02 15:04:05Z"), s.PeriodStart.UTC().Format("15:04:05"),
		s.PeriodEnd.UTC().Format("15:04:05"), s.Rows, s.Profiles)
	switch s.Verdict {
	case drift.VerdictDrift:
		head += fmt.Sprintf("DATASET DRIFT (%d of %d features drifted, share %.2f >= %.2f)", s.Drifted, s.Evaluated, s.DriftShare, s.ShareBound)
	case drift.VerdictNoDrift:
		head += fmt.Sprintf("no dataset drift (%d of %d features drifted, share %.2f < %.2f)", s.Drifted, s.Evaluated, s.DriftShare, s.ShareBound)
	default:
		head += strings.ToUpper(strings.ReplaceAll(s.Verdict, "_", " "))
	}
	if _, err := fmt.Fprintln(w, head); err != nil {
		return err
	}
	if s.Reason != "" {
		fmt.Fprintf(w, "  %s\n", s.Reason)
	}
	if len(s.Features) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  FEATURE\tKIND\tMETHOD\tSTATISTIC\tTHRESHOLD\tP-VALUE\tCOUNT\tVERDICT")
		cols := s.Features
		if s.Prediction != nil {
			cols = append(cols[:len(cols):len(cols)], *s.Prediction)
		}
		for _, f := range cols {
			method, stat, thr, p := "-", "-", "-", "-"
			if f.Verdict != drift.VerdictInsufficient {
				method, stat, thr = f.Method, num(f.Statistic), num(f.Threshold)
				if f.PValue != nil {
					p = num(*f.PValue)
				}
			}
			verdict := f.Verdict
			if f.Drifted {
				verdict = "DRIFT"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", f.Feature, f.Kind, method, stat, thr, p, f.Count, verdict)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	var extra []string
	if s.Alerted {
		extra = append(extra, "alert published on "+config.TopicDriftAlerts)
	}
	if s.Retrain != "" {
		extra = append(extra, "retrain run "+s.Retrain)
	}
	if s.MetricsError != "" {
		extra = append(extra, "metrics not pushed: "+s.MetricsError)
	}
	if len(extra) > 0 {
		fmt.Fprintf(w, "  %s\n", strings.Join(extra, "; "))
	}
	if s.ReportHTML != "" {
		fmt.Fprintf(w, "  report: %s (JSON: %s)\n", s.ReportHTML, s.ReportJSON)
	}
	return nil
}

func num(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }

// ErrNothingServing means no model has a serving version to check.
var ErrNothingServing = errors.New("no model is serving")

// Ticker publishes a drift tick (package topic's Publisher).
type Ticker interface {
	PublishJSON(ctx context.Context, topic string, v any, attrs map[string]string) (string, error)
}

// CheckNow publishes a drift-tick for model (every serving model when
// empty) and waits until each model's latest check is newer than before,
// polling Firestore every poll, for at most ctx's deadline. It returns the
// new checks by model name.
func CheckNow(ctx context.Context, docs *firestore.Client, t Ticker, model string, poll time.Duration) ([]Summary, error) {
	models := []string{model}
	if model == "" {
		ms, err := registry.New(docs).Models(ctx)
		if err != nil {
			return nil, err
		}
		models = nil
		for _, m := range ms {
			if m.Serving != nil && validName(m.Name) {
				models = append(models, m.Name)
			}
		}
		if len(models) == 0 {
			return nil, fmt.Errorf("drift check: %w; deploy one first (mega drop FILE --dataset NAME)", ErrNothingServing)
		}
	} else if !validName(model) {
		return nil, fmt.Errorf("drift check: model name %q: want letters, digits, '-', '_', '.'", model)
	} else if _, err := registry.New(docs).Serving(ctx, model); err != nil {
		return nil, fmt.Errorf("drift check: %w", err)
	}
	before := map[string]time.Time{}
	for _, m := range models {
		s, err := Latest(ctx, docs, m)
		if err != nil && !errors.Is(err, ErrNoCheck) {
			return nil, err
		}
		before[m] = s.CheckTime
	}
	if _, err := t.PublishJSON(ctx, config.TopicDriftTick, Tick{Step: StepName, Model: model}, nil); err != nil {
		return nil, fmt.Errorf("drift check: publish tick: %w", err)
	}
	out := make([]Summary, len(models))
	pending := len(models)
	for {
		for i, m := range models {
			if !out[i].CheckTime.IsZero() {
				continue
			}
			s, err := Latest(ctx, docs, m)
			if err != nil && !errors.Is(err, ErrNoCheck) {
				return nil, err
			}
			if err == nil && s.CheckTime.After(before[m]) {
				out[i] = s
				pending--
			}
		}
		if pending == 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			var waiting []string
			for i, m := range models {
				if out[i].CheckTime.IsZero() {
					waiting = append(waiting, m)
				}
			}
			return nil, fmt.Errorf("drift check: no new check of %s yet (is the DriftCheck function running and subscribed to %s?): %w",
				strings.Join(waiting, ", "), config.TopicDriftTick, ctx.Err())
		case <-time.After(poll):
		}
	}
}
