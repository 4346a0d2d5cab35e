package main

import (
	"fmt"
	"os"

	"github.com/megapipe/mega/shared/tflite"
	"github.com/spf13/cobra"
)

// tfliteSubcommands are added to `mega tflite`; other files append to it in
// their init() (tflite_run.go adds run and bench).
var tfliteSubcommands []func() *cobra.Command

func init() { commands = append(commands, newTfliteCmd) }

func newTfliteCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "tflite",
		Short: "Offline TensorFlow Lite model tools: inspect, rewrite, run, bench, quantize",
	}
	c.AddCommand(newTfliteInspectCmd(), newTfliteRewriteCmd())
	for _, sub := range tfliteSubcommands {
		c.AddCommand(sub())
	}
	return c
}

// readModel reads and parses a .tflite file.
func readModel(path string) (*tflite.Model, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read model: %w", err)
	}
	m, err := tflite.Parse(b)
	if err != nil {
		return nil, 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return m, len(b), nil
}

func newTfliteInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect MODEL",
		Short: "Print a model's operators, tensors, shapes, dtypes, quantization and sizes",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("inspect takes one MODEL argument, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			m, size, err := readModel(args[0])
			if err != nil {
				return err
			}
			s := tflite.Summarize(m, size)
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), s)
			}
			return s.WriteText(cmd.OutOrStdout())
		},
	}
}

func newTfliteRewriteCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "rewrite MODEL -o OUT",
		Short: "Parse, validate and re-encode a model (normalizes op codes, aligns buffers)",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("rewrite takes one MODEL argument, got %d", len(args))
			}
			if out == "" {
				return usagef("rewrite needs -o OUT")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			m, size, err := readModel(args[0])
			if err != nil {
				return err
			}
			b, err := m.Marshal()
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return fmt.Errorf("write model: %w", err)
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"in": args[0], "in_bytes": size, "out": out, "out_bytes": len(b)})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%d bytes) -> %s (%d bytes)\n", args[0], size, out, len(b))
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "output .tflite file")
	return c
}
