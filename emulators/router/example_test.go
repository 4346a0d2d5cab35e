package router_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"

	"cloud.google.com/go/pubsub/v2"

	"github.com/megapipe/mega/emulators/router"
)

// The router needs a Pub/Sub client (PUBSUB_EMULATOR_HOST set) and the URL
// of a functions host serving /<Function>.
func ExampleNew() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ps, err := pubsub.NewClient(ctx, "megapipe-local")
	if err != nil {
		log.Fatal(err)
	}
	r, err := router.New(ps, router.Options{Project: "megapipe-local", FunctionsURL: "http://127.0.0.1:8090"})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Stop()
	if err := r.Run(ctx); err != nil { // until SIGTERM
		log.Fatal(err)
	}
}
