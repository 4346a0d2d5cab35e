package step_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/logging"
	"github.com/megapipe/mega/shared/step"
)

// With the handler every function process installs (logging.Install, what
// the staged function.go and `mega functions serve` call), every line a step
// logs is one JSON object with a Cloud Logging severity, the step, the event
// id and the run id, and MEGA_LOG_LEVEL filters them.
func TestHandleLogsJSONWithIDs(t *testing.T) {
	emu, env := newEnv(t)
	defer slog.SetDefault(slog.Default())
	s := &step.Step{Name: "featurize", Function: config.FuncFeaturize,
		Env: func(context.Context) (*step.Env, error) { return env, nil },
		Work: func(ctx context.Context, env *step.Env, run step.Run, in events.Input) (step.Result, error) {
			slog.DebugContext(ctx, "work detail")
			return step.Result{}, nil
		}}
	for _, c := range []struct {
		level string
		want  []string // severity message
	}{
		{"debug", []string{"INFO step started", "DEBUG work detail", "INFO step finished"}},
		{"", []string{"INFO step started", "INFO step finished"}},
		{"warn", nil},
	} {
		var buf bytes.Buffer
		logging.Install(&buf, func(k string) string {
			if k == logging.LevelEnv {
				return c.level
			}
			return ""
		})
		id := "ev-" + c.level
		ev := messageEvent(t, emu.Project, id, events.Message{RunID: "r-log-" + c.level, Dataset: "d", Step: "ingest"})
		if err := s.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if l == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("MEGA_LOG_LEVEL=%q: not a JSON line: %q", c.level, l)
			}
			for k, want := range map[string]any{"step": "featurize", "event_id": ev.ID(), "run_id": "r-log-" + c.level} {
				if m[k] != want {
					t.Errorf("MEGA_LOG_LEVEL=%q: line %q: %s = %v, want %v", c.level, l, k, m[k], want)
				}
			}
			got = append(got, m["severity"].(string)+" "+m["message"].(string))
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("MEGA_LOG_LEVEL=%q: lines (-want +got):\n%s", c.level, diff)
		}
	}
}
