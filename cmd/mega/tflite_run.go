package main

import (
	"fmt"

	"github.com/megapipe/mega/shared/infer"
	"github.com/spf13/cobra"
)

func init() { tfliteSubcommands = append(tfliteSubcommands, newTfliteRunCmd, newTfliteBenchCmd) }

// tfliteRunFlags are the flags run and bench share.
type tfliteRunFlags struct {
	in      []string
	requant string
}

func (f *tfliteRunFlags) add(c *cobra.Command) {
	c.Flags().StringArrayVar(&f.in, "in", nil, "IDX=FILE: raw little-endian data for input IDX (repeatable; a multiple of the input's first axis resizes the batch)")
	c.Flags().StringVar(&f.requant, "requant", "xnnpack", "int8 requantization: xnnpack (as the official runtime's default build) or reference (gemmlowp, as TFLite Micro)")
}

// interpreter loads MODEL and the inputs.
func (f *tfliteRunFlags) interpreter(path string) (*infer.Interpreter, error) {
	mode, err := infer.ParseRequant(f.requant)
	if err != nil {
		return nil, usageError{err}
	}
	var specs []infer.InputSpec
	for _, s := range f.in {
		spec, err := infer.ParseInputSpec(s)
		if err != nil {
			return nil, usageError{err}
		}
		specs = append(specs, spec)
	}
	m, _, err := readModel(path)
	if err != nil {
		return nil, err
	}
	ip, err := infer.New(m, infer.Options{Requant: mode})
	if err != nil {
		return nil, err
	}
	if err := ip.LoadInputs(specs); err != nil {
		return nil, err
	}
	return ip, nil
}

func oneModel(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usagef("takes one MODEL argument, got %d", len(args))
	}
	return nil
}

func newTfliteRunCmd() *cobra.Command {
	var f tfliteRunFlags
	var outDir string
	c := &cobra.Command{
		Use:   "run MODEL [--in IDX=FILE ...] [--requant reference|xnnpack] [--out-dir D]",
		Short: "Run a model once on raw input tensors and print its outputs as JSON",
		Long: "run executes MODEL with the pure-Go interpreter (inputs not given are zero) and prints\n" +
			`{"outputs":[{"name","dtype","shape","values"}]}` + "; --out-dir also writes output_<i>.bin (raw little-endian).",
		Args: oneModel,
		RunE: func(cmd *cobra.Command, args []string) error {
			ip, err := f.interpreter(args[0])
			if err != nil {
				return err
			}
			if err := ip.Invoke(); err != nil {
				return err
			}
			if outDir != "" {
				if err := ip.WriteOutputs(outDir); err != nil {
					return err
				}
			}
			return printJSON(cmd.OutOrStdout(), ip.Result())
		},
	}
	f.add(c)
	c.Flags().StringVar(&outDir, "out-dir", "", "also write each output as raw little-endian D/output_<i>.bin")
	return c
}

func newTfliteBenchCmd() *cobra.Command {
	var f tfliteRunFlags
	var n int
	c := &cobra.Command{
		Use:   "bench MODEL [--in IDX=FILE ...] [--n N] [--requant reference|xnnpack]",
		Short: "Time a model: median and p90 latency per inference, allocations per inference, MAC/s",
		Args:  oneModel,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n < 1 {
				return usagef("--n must be at least 1, got %d", n)
			}
			ip, err := f.interpreter(args[0])
			if err != nil {
				return err
			}
			r, err := ip.Bench(n)
			if err != nil {
				return err
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), r)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(),
				"%s: n=%d median %.3f ms, p90 %.3f ms, min %.3f ms, %.1f allocs/inference, %d MACs, %.2f GMAC/s (requant %s, vector kernels %v, kernel path %s, arena %d bytes)\n",
				args[0], r.N, r.MedianMs, r.P90Ms, r.MinMs, r.AllocsPerInvoke, r.MACs, r.GMACPerSec, r.Requant, r.VectorKernels, r.KernelPath, r.ArenaBytes)
			return err
		},
	}
	f.add(c)
	c.Flags().IntVar(&n, "n", 1000, "number of timed inferences")
	return c
}
