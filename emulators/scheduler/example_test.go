package scheduler_test

import (
	"fmt"
	"time"

	"github.com/megapipe/mega/emulators/scheduler"
)

func ExampleParse() {
	s, err := scheduler.Parse("*/5 * * * *")
	if err != nil {
		fmt.Println(err)
		return
	}
	t := time.Date(2026, 11, 27, 4, 52, 13, 0, time.UTC)
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.Format(time.RFC3339))
	}
	// Output:
	// 2026-11-27T04:55:00Z
	// 2026-11-27T05:00:00Z
	// 2026-11-27T05:05:00Z
}
