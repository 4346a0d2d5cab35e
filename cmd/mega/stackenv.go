package main

import (
	"os"

	"github.com/megapipe/mega/emulators/stack"
)

// applyLocalStack points the clients at the local stack running from --dir.
// When the emulator variables are already set (for example by
// `eval "$(mega local env)"`, or in tests), they are used as they are.
func applyLocalStack() error {
	if os.Getenv("PUBSUB_EMULATOR_HOST") != "" && os.Getenv("FIRESTORE_EMULATOR_HOST") != "" {
		return nil
	}
	st, err := stack.Load(global.Dir)
	if err != nil {
		return err
	}
	return st.Apply()
}
