package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/runs"
)

func init() { commands = append(commands, newRunsCmd, newTriggerCmd) }

func newRunsCmd() *cobra.Command {
	var watch bool
	var limit int
	c := &cobra.Command{
		Use:   "runs [RUN_ID]",
		Short: "List runs, or show one run's steps",
		Long: "runs lists the most recent runs with their status, or with a RUN_ID shows each step's status,\n" +
			"duration, counts and reason. --watch redraws the table live until the run ends (or Ctrl-C).",
		Example: "  mega runs\n  mega runs breast-cancer-1a2b3c4d5e --watch\n  mega runs --json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			env, err := connect(ctx)
			if err != nil {
				return err
			}
			defer env.Close()
			show := func() (bool, error) {
				if len(args) == 1 {
					r, err := env.Runs.Get(ctx, args[0])
					if err != nil {
						return false, err
					}
					if global.JSON {
						return finished(r), printJSON(cmd.OutOrStdout(), r)
					}
					return finished(r), printRun(cmd.OutOrStdout(), r, time.Now())
				}
				rs, err := env.Runs.List(ctx, limit)
				if err != nil {
					return false, err
				}
				if global.JSON {
					return false, printJSON(cmd.OutOrStdout(), rs)
				}
				return false, printRuns(cmd.OutOrStdout(), rs, time.Now())
			}
			if !watch {
				_, err := show()
				return err
			}
			return watchLoop(ctx, cmd.OutOrStdout(), time.Second, show)
		},
	}
	c.Flags().BoolVarP(&watch, "watch", "w", false, "redraw live until the run ends")
	c.Flags().IntVar(&limit, "limit", 20, "number of runs to list")
	return c
}

func finished(r runs.Run) bool { return r.Status != runs.StatusRunning }

// watchLoop redraws the output of show every period until show reports done or
// ctx ends. On a terminal it clears the screen between frames.
func watchLoop(ctx context.Context, w io.Writer, period time.Duration, show func() (bool, error)) error {
	tty := isTerminal(w)
	for {
		if tty {
			fmt.Fprint(w, "\x1b[H\x1b[2J")
		}
		done, err := show()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(period):
		}
		if !tty {
			fmt.Fprintln(w)
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func printRuns(w io.Writer, rs []runs.Run, now time.Time) error {
	if len(rs) == 0 {
		fmt.Fprintln(w, "no runs yet: drop a file with `mega drop FILE --dataset NAME`")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tDATASET\tSTATUS\tSTEPS\tAGE\tREASON")
	for _, r := range rs {
		var steps []string
		for _, s := range r.StepNames() {
			m := mark(r.Steps[s].Status)
			if age, ok := runs.IsStalled(s, r.Steps[s], now); ok {
				m = "STALLED " + age.Round(time.Second).String()
			}
			steps = append(steps, s+":"+m)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Dataset, r.Status, strings.Join(steps, " "),
			now.Sub(r.Created).Round(time.Second), truncate(r.Reason, 60))
	}
	return tw.Flush()
}

func mark(status string) string {
	switch status {
	case runs.StatusSucceeded, runs.StatusDeployed:
		return "ok"
	case runs.StatusFailed:
		return "FAILED"
	case runs.StatusRejected:
		return "rejected"
	case runs.StatusRunning:
		return "..."
	}
	return status
}

func printRun(w io.Writer, r runs.Run, now time.Time) error {
	fmt.Fprintf(w, "run %s  dataset %s  status %s\n", r.ID, r.Dataset, r.Status)
	if r.Source != "" {
		fmt.Fprintf(w, "source %s\n", r.Source)
	}
	if r.Model != "" {
		fmt.Fprintf(w, "model %s %s\n", r.Model, r.Version)
	}
	if r.Reason != "" {
		fmt.Fprintf(w, "reason %s\n", r.Reason)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATUS\tPROGRESS\tDURATION\tATTEMPTS\tCOUNTS\tREASON")
	resume := "" // the step to resume: a failed or stalled one
	for _, name := range append([]string(nil), runs.StepOrder...) {
		s, ok := r.Steps[name]
		if !ok {
			fmt.Fprintf(tw, "%s\t-\t\t\t\t\t\n", name)
			continue
		}
		status := s.Status
		if age, ok := runs.IsStalled(name, s, now); ok {
			status = "STALLED " + age.Round(time.Second).String()
			resume = name
		}
		if s.Status == runs.StatusFailed {
			resume = name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", name, status, bar(s.Progress, 12),
			s.Duration(now).Round(10*time.Millisecond), s.Attempts, counts(s.Counts), truncate(s.Reason, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if resume != "" {
		fmt.Fprintln(w, runs.ResumeHint(resume, r.ID))
	}
	return nil
}

func bar(frac float64, width int) string {
	frac = max(0, min(1, frac))
	n := int(frac*float64(width) + 0.5)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + fmt.Sprintf("] %3.0f%%", frac*100)
}

func counts(m map[string]int64) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// stepInputs says, for each step, which topic triggers it and which step's
// outputs it reads.
var stepInputs = map[string]struct{ topic, upstream string }{
	"ingest":    {config.TopicPipelineTrigger, ""},
	"featurize": {config.TopicDatasetReady, "ingest"},
	"train":     {config.TopicFeaturesReady, "featurize"},
	"distill":   {config.TopicModelTrained, "train"},
	"quantize":  {config.TopicModelDistilled, "distill"},
	"deploy":    {config.TopicModelQuantized, "quantize"},
}

func newTriggerCmd() *cobra.Command {
	var runID string
	c := &cobra.Command{
		Use:   "trigger STEP --run RUN_ID",
		Short: "Run one step of a run again",
		Long: "trigger publishes the message that starts STEP for an existing run: for ingest a\n" +
			"pipeline-trigger naming the run's source object, for the other steps the message the\n" +
			"previous step published, rebuilt from the run record. The step redoes its work; its\n" +
			"outputs have deterministic names, so nothing is duplicated.\n\nSteps: " +
			strings.Join(runs.StepOrder, ", "),
		Example: "  mega trigger train --run breast-cancer-1a2b3c4d5e",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, ok := stepInputs[args[0]]
			if !ok {
				return usagef("unknown step %q: want one of %s", args[0], strings.Join(runs.StepOrder, ", "))
			}
			if runID == "" {
				return usagef("--run RUN_ID is required")
			}
			ctx := cmd.Context()
			env, err := connect(ctx)
			if err != nil {
				return err
			}
			defer env.Close()
			r, err := env.Runs.Get(ctx, runID)
			if err != nil {
				return err
			}
			m, err := triggerMessage(r, args[0], in.upstream, time.Now())
			if err != nil {
				return err
			}
			id, err := env.Topics.PublishJSON(ctx, in.topic, m, map[string]string{"origin": "mega-trigger"})
			if err != nil {
				return err
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), map[string]string{"topic": in.topic, "message_id": id, "run_id": r.ID, "step": args[0]})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "published %s for run %s (message %s); follow it with `mega runs %s --watch`\n", in.topic, r.ID, id, r.ID)
			return nil
		},
	}
	c.Flags().StringVar(&runID, "run", "", "run id (see `mega runs`)")
	return c
}

// triggerMessage rebuilds the message that starts step for run r. A nonce
// makes it distinct from the original, so the idempotency ledger lets it run.
func triggerMessage(r runs.Run, step, upstream string, now time.Time) (events.Message, error) {
	m := events.Message{RunID: r.ID, Dataset: r.Dataset, Params: map[string]string{"nonce": now.UTC().Format(time.RFC3339Nano)}}
	if upstream == "" {
		if r.Source == "" {
			return m, errors.New("run has no source object to ingest again")
		}
		// The run is bound to the object generation it was created for:
		// the message carries it, and ingest reads that generation.
		obj, gen, _ := strings.Cut(r.Source, "#")
		m.Step, m.Object = step, obj
		if gen != "" {
			g, err := strconv.ParseInt(gen, 10, 64)
			if err != nil {
				return m, fmt.Errorf("run source %q: bad generation", r.Source)
			}
			m.Generation = g
		}
		return m, nil
	}
	up, ok := r.Steps[upstream]
	if !ok || up.Status != runs.StatusSucceeded {
		return m, fmt.Errorf("step %s needs %s to have succeeded first (it is %q)", step, upstream, up.Status)
	}
	m.Step, m.Artifacts, m.Model, m.Version = upstream, up.Outputs, r.Model, r.Version
	m.Inputs = []string{r.Source}
	return m, nil
}
