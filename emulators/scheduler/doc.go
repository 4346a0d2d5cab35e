// Package scheduler is the local stand-in for Cloud Scheduler: it publishes
// the drift check's tick to config.TopicDriftTick on config.DriftSchedule,
// with the payload of the Terraform job (terraform/scheduler.tf): data
// {"step":"driftcheck"}, no attributes, schedule evaluated in Etc/UTC.
// TickNow publishes the same message at once (mega drift --now, tests).
//
// The schedule is evaluated on Options.Now (default time.Now): Run waits
// from Now() to the next scheduled time and publishes then, and Next and
// Last read on that clock. Tests set it years ahead or behind today and the
// scheduler fires on its cron all the same.
//
// Schedules use the 5-field unix-cron form that Cloud Scheduler takes:
// minute hour day-of-month month day-of-week, each a list of *, N, N-M, with
// an optional /step; months and weekdays also by three-letter names
// (JAN-DEC, SUN-SAT; 0 and 7 are Sunday). Days follow Vixie cron: when both
// day fields are restricted, a day matching either matches; when one starts
// with "*", a day must match both. Next times are checked against cronsim
// (testdata/gen_next.py).
package scheduler
