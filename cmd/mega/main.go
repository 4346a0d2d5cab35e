// Command mega is Megapipe's control center: the local stack, the CLI over the
// pipeline, the inference service (mega serve) and the pipeline steps as batch
// jobs (mega step). See README.md for the user guide.
//
// Exit codes: 0 success; 1 the command failed (the reason is printed as one
// line on stderr); 2 the command line was wrong.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mega:", oneLine(err))
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
