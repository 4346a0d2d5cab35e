package gcloud_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/megapipe/mega/emulators/gcloud"
)

func ExampleStartPubSub() {
	ctx := context.Background()
	e, err := gcloud.StartPubSub(ctx, gcloud.Options{}) // 127.0.0.1, a free port
	if errors.Is(err, gcloud.ErrNotInstalled) {
		fmt.Println(err) // says how to install the emulators
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Stop(ctx)
	os.Setenv(e.Kind().EnvVar(), e.Addr()) // PUBSUB_EMULATOR_HOST for the clients
}
