package stack_test

import (
	"fmt"
	"os"

	"github.com/megapipe/mega/emulators/stack"
)

// A command that should talk to the running local stack loads its state and
// applies its environment; the official clients then find the emulators.
func ExampleLoad() {
	st, err := stack.Load(".mega")
	if err != nil {
		fmt.Println(err) // stack.ErrNotRunning: suggest `mega local up`
		return
	}
	if err := st.Apply(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(os.Getenv("PUBSUB_EMULATOR_HOST"), st.Endpoints.Functions)
}
