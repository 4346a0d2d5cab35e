package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/shared/serve"
)

func init() { commands = append(commands, newPredictCmd) }

func newPredictCmd() *cobra.Command {
	var url, model, version string
	cmd := &cobra.Command{
		Use:     "predict --model NAME FILE|-",
		Example: "  mega predict --model breast-cancer rows.csv\n  cat rows.jsonl | mega predict --model digits - --json",
		Short:   "Call the inference service with CSV or JSON rows",
		Long: `predict reads instances from FILE (or stdin with -): CSV with a header row of feature names, a JSON
array of instances (objects keyed by feature name, or lists in feature order), or JSON lines. It
sends them to the inference service (TF Serving REST, in chunks of 256) and prints one prediction
per line (label and class probabilities, or the value), or the whole answer with --json.

The service is --url, else MEGA_SERVE_URL, else the running local stack's (mega local up), else\nhttp://127.0.0.1:8080.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if model == "" {
				return usagef("--model is required")
			}
			var r io.Reader = cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			insts, err := serve.ReadInstances(r)
			if err != nil {
				return err
			}
			if len(insts) == 0 {
				return fmt.Errorf("predict: %s holds no instances", args[0])
			}
			ans, err := serve.Predict(cmd.Context(), serveURL(url), model, version, insts, 256)
			if err != nil {
				return err
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), ans)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "# model %s version %s\n", ans.Model, ans.ModelVersion)
			for i, p := range ans.Predictions {
				var v struct {
					Label         string    `json:"label"`
					Probabilities []float64 `json:"probabilities"`
					Value         *float64  `json:"value"`
				}
				if err := json.Unmarshal(p, &v); err != nil {
					return fmt.Errorf("predict: answer %d: %w", i, err)
				}
				if v.Value != nil {
					fmt.Fprintf(w, "%d\t%g\n", i, *v.Value)
					continue
				}
				fmt.Fprintf(w, "%d\t%s\t%v\n", i, v.Label, v.Probabilities)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "service base URL (default MEGA_SERVE_URL, else the local stack's, else http://127.0.0.1:8080)")
	cmd.Flags().StringVar(&model, "model", "", "model name")
	cmd.Flags().StringVar(&version, "version", "", "model version (default the serving one)")
	return cmd
}
