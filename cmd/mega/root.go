package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// globalFlags are the flags every command shares.
type globalFlags struct {
	JSON    bool   // print machine-readable JSON instead of tables
	Project string // a real Google Cloud project; empty means the local stack
	Dir     string // local stack state directory
}

var global globalFlags

// commands is filled by init() functions in this package's files, one file per
// command group, so that each group is added without touching the others.
var commands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "mega",
		Short:         "Megapipe: an event-driven ML pipeline on Google Cloud",
		Long:          "mega is the control center of Megapipe: it runs the local stack, drops data, follows runs,\nserves models and writes the report. Commands work against the local stack by default\nand against a real project with --project.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.BoolVar(&global.JSON, "json", false, "print machine-readable JSON")
	pf.StringVar(&global.Project, "project", "", "Google Cloud project id (default: the local stack)")
	pf.StringVar(&global.Dir, "dir", defaultStateDir(), "local stack state directory")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, c := range commands {
		root.AddCommand(c())
	}
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return usagef("unknown help topic %q", strings.Join(args, " "))
			}
			return cmd.Help()
		},
	})
	return root
}

// run builds the command tree, runs it with args and the given streams, prints
// the reason of a failure on stderr and returns the exit code (0, 1 or 2; see
// the package doc). Tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.InitDefaultCompletionCmd() // after SetOut: its commands keep the writer they see now
	markErrors(root)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var re runError
	var ue usageError
	if errors.As(err, &re) && !errors.As(err, &ue) {
		fmt.Fprintln(stderr, "mega:", oneLine(err))
		return 1
	}
	fmt.Fprintln(stderr, "mega:", oneLine(err))
	if cmd == nil {
		cmd = root
	}
	fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	return 2
}

// runError marks an error returned by a command's own RunE: the command ran
// and failed (exit 1), unless the error is also a usageError.
type runError struct{ err error }

func (e runError) Error() string { return e.err.Error() }
func (e runError) Unwrap() error { return e.err }

// markErrors walks the command tree: it wraps every RunE so that its errors
// are told apart from cobra's own (which are all command-line errors), and
// gives every group command (subcommands, no RunE) one that rejects an
// unknown or missing subcommand as a usage error; cobra would print the help
// and exit 0 for `mega local nosuch`.
func markErrors(c *cobra.Command) {
	for _, sub := range c.Commands() {
		markErrors(sub)
	}
	if c.RunE == nil && c.Run == nil && c.HasSubCommands() {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return usagef("%s needs a subcommand: %s", cmd.CommandPath(), strings.Join(subcommandNames(cmd), ", "))
		}
	}
	if c.RunE == nil {
		return
	}
	runE := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := runE(cmd, args); err != nil {
			return runError{err}
		}
		return nil
	}
}

func subcommandNames(c *cobra.Command) []string {
	var names []string
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			names = append(names, s.Name())
		}
	}
	return names
}

// usageError marks a wrong command line (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error for a wrong command line.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
