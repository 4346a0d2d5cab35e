package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/functions/ingest"
	"github.com/megapipe/mega/shared/dataset"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

func init() { commands = append(commands, newDropCmd) }

func newDropCmd() *cobra.Command {
	var name, label, schemaFile string
	var wait bool
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "drop FILE --dataset NAME [--label COL]",
		Short: "Upload a data file to the raw bucket, which starts a run",
		Long: "drop uploads FILE (CSV or JSON Lines) to the raw bucket as <dataset>/<file name>, which triggers\n" +
			"ingest. --label names the label column (stored as the object's label metadata); without it the\n" +
			"dataset's schema or a column named label decides. --schema FILE states the dataset's schema (JSON, as\n" +
			"ingest writes it) instead of inferring it from the first drop; a conflicting stored schema is named.\n" +
			"It prints the object and the run id; --wait waits for ingest to finish and prints its outcome. Local stack by default, --project for the cloud.",
		Example: "  mega drop testdata/datasets/breast_cancer.csv --dataset breast_cancer --wait\n" +
			"  mega drop plants.csv --dataset plants --label species --json",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("drop takes one FILE, got %d arguments", len(args))
			}
			if name == "" {
				return usagef("--dataset NAME is required")
			}
			if err := ingest.CheckDatasetName(name); err != nil {
				return usageError{err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			env, err := connect(ctx)
			if err != nil {
				return err
			}
			defer env.Close()
			if schemaFile != "" {
				if err := stateSchema(ctx, env, schemaFile, name, label); err != nil {
					return err
				}
			}
			d, err := ingest.Drop(ctx, env.Blob, env.Config.RawBucket, args[0], name, label)
			if err != nil {
				return err
			}
			out := struct {
				ingest.Dropped
				Ingest *runs.Step `json:"ingest,omitempty"`
			}{Dropped: d}
			if wait {
				st, err := waitIngest(ctx, env.Runs, d.RunID, timeout)
				if err != nil {
					return err
				}
				out.Ingest = &st
			}
			w := cmd.OutOrStdout()
			if global.JSON {
				return printJSON(w, out)
			}
			fmt.Fprintf(w, "dropped %s (%d bytes, generation %d)\nrun %s\n", d.Object, d.Size, d.Generation, d.RunID)
			if st := out.Ingest; st != nil {
				fmt.Fprintf(w, "ingest %s in %s", st.Status, st.Duration(time.Now()).Round(time.Millisecond))
				if st.Counts != nil {
					fmt.Fprintf(w, ": %d rows, %d clean, %d quarantined", st.Counts["rows"], st.Counts["clean"], st.Counts["quarantined"])
				}
				fmt.Fprintln(w)
				if st.Reason != "" {
					fmt.Fprintf(w, "reason: %s\n", st.Reason)
				}
				for _, k := range sortedKeys(st.Outputs) {
					fmt.Fprintf(w, "  %-10s %s\n", k, st.Outputs[k])
				}
				if st.Status == runs.StatusFailed {
					return fmt.Errorf("ingest of %s failed: %s", d.Object, st.Reason)
				}
			} else {
				fmt.Fprintf(w, "follow it with: mega runs %s --watch\n", d.RunID)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&name, "dataset", "", "dataset name: the object is <dataset>/<file name> (required)")
	f.StringVar(&label, "label", "", "label column (object metadata label=COL)")
	f.StringVar(&schemaFile, "schema", "", "schema JSON FILE stating the dataset's columns (instead of inferring them from the first drop)")
	f.BoolVar(&wait, "wait", false, "wait for ingest to finish and print its outcome")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	return c
}

// stateSchema stores the schema in file as the dataset's schema before the
// drop; a dataset with another schema already refuses it, naming the columns.
func stateSchema(ctx context.Context, env *step.Env, file, name, label string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("drop --schema: %w", err)
	}
	sc, err := dataset.ParseSchema(data)
	if err != nil {
		return fmt.Errorf("drop --schema %s: %w", file, err)
	}
	if label != "" && label != sc.Label {
		return usagef("--label %s, but the schema in %s has label %s", label, file, sc.Label)
	}
	return ingest.StoreSchema(ctx, env.Docs, name, sc, "mega drop --schema "+filepath.Base(file))
}

// waitIngest polls the run record until its ingest step has ended.
func waitIngest(ctx context.Context, store *runs.Store, id string, timeout time.Duration) (runs.Step, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := store.Get(ctx, id)
		switch {
		case err == nil:
			if st, ok := r.Steps[ingest.StepName]; ok && st.Status != runs.StatusRunning {
				return st, nil
			}
		case !errors.Is(err, runs.ErrNotFound):
			return runs.Step{}, err
		}
		select {
		case <-ctx.Done():
			return runs.Step{}, fmt.Errorf("wait for ingest of run %s: %w (is the local stack's router running?)", id, ctx.Err())
		case <-tick.C:
		}
	}
}
