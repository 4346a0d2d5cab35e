package scheduler

import "time"

// SetClock replaces the scheduler's clock.
func SetClock(s *Scheduler, now func() time.Time) { s.now = now }
