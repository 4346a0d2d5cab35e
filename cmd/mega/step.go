package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/functions/deploy"
	"github.com/megapipe/mega/functions/distill"
	"github.com/megapipe/mega/functions/featurize"
	"github.com/megapipe/mega/functions/quantize"
	"github.com/megapipe/mega/functions/train"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/step"
)

func init() { commands = append(commands, newStepCmd) }

// batchSteps are the steps `mega step` runs.
var batchSteps = map[string]*step.Step{
	featurize.StepName: featurize.Step,
	train.StepName:     train.Step,
	distill.StepName:   distill.Step,
	quantize.StepName:  quantize.Step,
	deploy.StepName:    deploy.Step,
}

// stepParams maps pipeline parameters to the settings the steps read.
var stepParams = map[string]string{"epochs": "MEGA_EPOCHS", "seed": "MEGA_SEED", "prune_sparsity": "MEGA_SPARSITY"}

func newStepCmd() *cobra.Command {
	var runID, dataset, bucket string
	var params, inputs, outputs []string
	var publish bool
	c := &cobra.Command{
		Use:   "step STEP --run-id RUN_ID [--input NAME=PATH]... [--output NAME=PATH]...",
		Short: "Run one pipeline step as a batch job (the Kubeflow components)",
		Long: "step runs the same code as the step's Cloud Function on the same artifacts, once, outside\n" +
			"the event path. Its input is the run record (featurize reads ingest's outputs) or the\n" +
			"JSON messages in --input files written by earlier steps' --output; it writes its own\n" +
			"message to every --output path. It publishes the step's message only with --publish,\n" +
			"which is the default for quantize, the Kubeflow pipeline's last step: the event chain\n" +
			"then continues at deploy exactly as with the local backend.\n\n" +
			"Steps: featurize, train, distill, quantize, deploy. Parameters: epochs, seed, prune_sparsity.",
		Example: "  mega step featurize --run-id iris-0123456789 --dataset iris --output features=/tmp/f.json\n" +
			"  mega step train --run-id iris-0123456789 --dataset iris --input features=/tmp/f.json --output model=/tmp/m.json",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ok := batchSteps[args[0]]
			if !ok {
				return usagef("unknown step %q: want featurize, train, distill, quantize or deploy", args[0])
			}
			if runID == "" {
				return usagef("--run-id is required")
			}
			if !cmd.Flags().Changed("publish") {
				publish = args[0] == quantize.StepName // the Kubeflow pipeline's last step
			}
			// The settings reach the step through its Env, not the
			// process environment.
			vars := map[string]string{"MEGA_TRAIN_BACKEND": "local"}
			if bucket != "" {
				vars["MEGA_ARTIFACTS_BUCKET"] = bucket
			}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				env, known := stepParams[k]
				if !ok || !known {
					return usagef("--param %q: want one of epochs=, seed=, prune_sparsity=", p)
				}
				vars[env] = v
			}
			ctx := cmd.Context()
			env, err := connectWith(ctx, vars)
			if err != nil {
				return err
			}
			defer env.Close()
			r, err := env.Runs.Get(ctx, runID)
			if err != nil {
				return err
			}
			if dataset == "" {
				dataset = r.Dataset
			}
			msg := events.Message{RunID: runID, Dataset: dataset, Step: "batch", Artifacts: map[string]string{}}
			if up, ok := r.Steps["ingest"]; ok {
				maps.Copy(msg.Artifacts, up.Outputs)
			}
			for _, in := range inputs {
				_, path, ok := strings.Cut(in, "=")
				if !ok {
					return usagef("--input %q: want NAME=PATH", in)
				}
				var prev events.Message
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(b, &prev); err != nil {
					return fmt.Errorf("input %s: %w", path, err)
				}
				maps.Copy(msg.Artifacts, prev.Artifacts)
				if prev.Model != "" {
					msg.Model, msg.Version = prev.Model, prev.Version
				}
				msg.Inputs = prev.Inputs
			}
			res, err := s.RunBatch(ctx, env, step.Run{ID: runID, Dataset: dataset, Source: r.Source},
				events.Input{EventID: "batch-" + args[0], Message: &msg}, publish)
			if err != nil {
				return err
			}
			out := events.Message{RunID: runID, Dataset: dataset, Step: args[0], Artifacts: res.Outcome.Outputs,
				Model: res.Outcome.Model, Version: res.Outcome.Version, Inputs: msg.Inputs}
			for _, p := range res.Publish {
				out = p.Message // the message the function would have published
			}
			if out.Model == "" {
				out.Model, out.Version = msg.Model, msg.Version
			}
			b, _ := json.MarshalIndent(out, "", "  ")
			for _, o := range outputs {
				_, path, ok := strings.Cut(o, "=")
				if !ok {
					return usagef("--output %q: want NAME=PATH", o)
				}
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(path, b, 0o644); err != nil {
					return err
				}
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s %s\n", args[0], res.Outcome.Status, res.Outcome.Reason)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&runID, "run-id", "", "run id")
	f.StringVar(&dataset, "dataset", "", "dataset name (default: the run's)")
	f.StringVar(&bucket, "artifacts-bucket", "", "artifacts bucket (default: from the environment)")
	f.StringArrayVar(&params, "param", nil, "pipeline parameter KEY=VALUE")
	f.StringArrayVar(&inputs, "input", nil, "input artifact NAME=PATH (a message JSON written by an earlier step)")
	f.StringArrayVar(&outputs, "output", nil, "output artifact NAME=PATH")
	f.BoolVar(&publish, "publish", false, "publish the step's message (default: only for quantize, the pipeline's last step)")
	return c
}
