// Package clocktest holds no code: its test runs the Monitoring emulator,
// the scheduler and the drift windows with their clocks set years ahead of
// and behind today (2041 and 2009), to show that nothing in them reads the
// wall-clock date where it should read its clock (issue 11). Every
// component takes a clock: monitoring.Options.Now, scheduler.Options.Now,
// and the check time the drift check is given; production uses time.Now.
package clocktest
