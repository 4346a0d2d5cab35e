package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/functions/driftcheck"
)

func init() { commands = append(commands, newDriftCmd) }

func newDriftCmd() *cobra.Command {
	var model string
	var now bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Latest drift report per model; --now runs a check at once",
		Long: `drift shows the latest drift check of each model (or of --model): the verdict, the dataset
drift share, and per feature the method, statistic, threshold, p-value and verdict, with the
address of the HTML report. The checks run every 5 minutes (Cloud Scheduler, or the local
stack's scheduler) over the traffic of the last period; see functions/driftcheck.

--now publishes a drift-tick at once and waits (up to --timeout) for the new check.

With --json: one summary object with --model, else an array of them.`,
		Example: "  mega drift\n  mega drift --model breast-cancer --now\n  mega drift --model breast-cancer --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return usagef("--timeout %s: want a positive duration", timeout)
			}
			ctx := cmd.Context()
			env, err := connect(ctx)
			if err != nil {
				return err
			}
			defer env.Close()
			var sums []driftcheck.Summary
			switch {
			case now:
				wctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				sums, err = driftcheck.CheckNow(wctx, env.Docs, env.Topics, model, time.Second)
			case model != "":
				var s driftcheck.Summary
				s, err = driftcheck.Latest(ctx, env.Docs, model)
				if errors.Is(err, driftcheck.ErrNoCheck) {
					return fmt.Errorf("drift: %w for model %s yet: checks run every 5 minutes, or use --now", driftcheck.ErrNoCheck, model)
				}
				sums = []driftcheck.Summary{s}
			default:
				sums, err = driftcheck.LatestAll(ctx, env.Docs)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if global.JSON {
				for i := range sums {
					if sums[i].Features == nil { // Firestore gives an empty list back as nothing
						sums[i].Features = []driftcheck.FeatureSummary{}
					}
				}
				if model != "" && len(sums) == 1 {
					return printJSON(w, sums[0])
				}
				if sums == nil {
					sums = []driftcheck.Summary{}
				}
				return printJSON(w, sums)
			}
			if len(sums) == 0 {
				fmt.Fprintln(w, "no drift checks yet: they run every 5 minutes once a model serves; `mega drift --now` runs one")
				return nil
			}
			for i, s := range sums {
				if i > 0 {
					fmt.Fprintln(w)
				}
				if err := driftcheck.WriteSummary(w, s); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "model name (default: every model)")
	f.BoolVar(&now, "now", false, "run a check at once (publish a drift-tick) and wait for it")
	f.DurationVar(&timeout, "timeout", 2*time.Minute, "how long --now waits for the check")
	return cmd
}
