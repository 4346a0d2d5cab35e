package main

import (
	"fmt"
	"os"

	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/tflite"
	"github.com/spf13/cobra"
)

// tfliteSubcommands are added to `mega tflite`; other files append to it in
// their init() (tflite_run.go adds run and bench).
var tfliteSubcommands []func() *cobra.Command

func init() { commands = append(commands, newTfliteCmd) }

func newTfliteCmd() *cobra.Command {
	c := &cobra.Command{
		Use:     "tflite",
		Example: "  mega tflite inspect model.tflite\n  mega tflite run model.tflite --in 0=input.bin --json\n  mega tflite bench model.tflite --n 1000\n  mega tflite quantize float.tflite --calib rows.csv -o int8.tflite",
		Short:   "Offline TensorFlow Lite model tools: inspect, rewrite, run, bench, quantize",
	}
	c.AddCommand(newTfliteInspectCmd(), newTfliteRewriteCmd(), newTfliteQuantizeCmd())
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

func newTfliteQuantizeCmd() *cobra.Command {
	var (
		out, calib, io string
		perTensor      bool
		noEqualize     bool
	)
	c := &cobra.Command{
		Use:   "quantize MODEL [--calib FILE] -o OUT [--io float|int8]",
		Short: "Full-integer int8 post-training quantization of a float32 model",
		Long: "quantize turns a float32 .tflite model into an int8 one. Activation ranges come from running the\n" +
			"float model over --calib (CSV: one sample per line, every input's values in order, optional header;\n" +
			"otherwise raw little-endian float32 samples back to back), or, without --calib, from the min/max\n" +
			"stored in the model. --io float keeps float inputs and outputs (QUANTIZE/DEQUANTIZE ops).",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("quantize takes one MODEL argument, got %d", len(args))
			}
			if out == "" {
				return usagef("quantize needs -o OUT")
			}
			if _, err := quant.ParseIO(io); err != nil {
				return usagef("%v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			m, _, err := readModel(args[0])
			if err != nil {
				return err
			}
			ioType, _ := quant.ParseIO(io)
			var cal quant.Calibration
			if calib != "" {
				if len(m.Subgraphs) == 0 {
					return fmt.Errorf("quantize: the model has no subgraph")
				}
				sg := m.Subgraphs[0]
				var sizes []int
				for _, t := range sg.Inputs {
					sizes = append(sizes, sg.Tensors[t].NumElements())
				}
				samples, err := quant.ReadCalibration(calib, sizes)
				if err != nil {
					return err
				}
				cal = quant.Samples(samples)
			}
			q, rep, err := quant.Quantize(cmd.Context(), m, cal, quant.Options{IO: ioType, PerTensorWeights: perTensor,
				NoInputEqualization: noEqualize})
			if err != nil {
				return err
			}
			b, err := q.Marshal()
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return fmt.Errorf("write model: %w", err)
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"out": out, "report": rep})
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s -> %s: %d -> %d bytes (%.1f%%), ranges from %s", args[0], out, rep.FloatBytes, rep.Int8Bytes,
				100*float64(rep.Int8Bytes)/float64(max(rep.FloatBytes, 1)), rep.RangeSource)
			if rep.Samples > 0 {
				fmt.Fprintf(w, " (%d samples)", rep.Samples)
			}
			fmt.Fprintf(w, ", %s I/O\n", rep.IO)
			for _, w := range rep.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
			}
			if rep.ClampedBias > 0 {
				fmt.Fprintf(w, "warning: %d bias values did not fit in int32 and were clamped\n", rep.ClampedBias)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&out, "output", "o", "", "output .tflite file")
	f.StringVar(&calib, "calib", "", "calibration samples (.csv, or raw float32)")
	f.StringVar(&io, "io", "float", "model input/output type: float or int8")
	f.BoolVar(&perTensor, "per-tensor", false, "one weight scale per tensor instead of per output channel")
	f.BoolVar(&noEqualize, "no-equalize", false, "do not rescale wide-ranging float input features before quantizing")
	return c
}
