package main

import (
	"encoding/json"
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
	return root
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
