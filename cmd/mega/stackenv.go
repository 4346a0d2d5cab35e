package main

import (
	"errors"
	"os"
)

// applyLocalStack points the clients at the local stack.
func applyLocalStack() error {
	if os.Getenv("PUBSUB_EMULATOR_HOST") != "" && os.Getenv("FIRESTORE_EMULATOR_HOST") != "" {
		return nil
	}
	return errors.New("the local stack is not running: start it with `mega local up`, or pass --project")
}
