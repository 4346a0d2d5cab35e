// Command mega is Megapipe's control center: the local stack, the CLI over the
// pipeline, the inference service (mega serve) and the pipeline steps as batch
// jobs (mega step). See README.md for the user guide.
//
// Exit codes: 0 success; 1 the command failed (the reason is printed as one
// line on stderr); 2 the command line was wrong (unknown command or flag,
// missing or extra arguments, a bad flag value, a group command such as
// `mega local` without its subcommand): the reason and a pointer to --help are
// printed on stderr. The mapping is made once, in run: an error that a
// command's RunE returns is a failure unless it is a usageError; every error
// cobra returns before RunE (argument validators, flag parsing, unknown
// commands) is a usage error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
