package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHandlerCloudLoggingShape(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(&buf, slog.LevelInfo))
	ctx := With(context.Background(), "run_id", "r-1")
	ctx = With(ctx, "event_id", "e-9")
	log.WarnContext(ctx, "publish failed", "topic", "dataset-ready")
	log.DebugContext(ctx, "not shown")

	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not one JSON line: %q: %v", buf.String(), err)
	}
	delete(got, "time")
	want := map[string]any{"severity": "WARNING", "message": "publish failed", "topic": "dataset-ready",
		"run_id": "r-1", "event_id": "e-9"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log line (-want +got):\n%s", diff)
	}
}

// decodeLines decodes every line of out as one JSON object, without time.
func decodeLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		if _, ok := m["time"]; !ok {
			t.Errorf("line without time: %q", l)
		}
		delete(m, "time")
		lines = append(lines, m)
	}
	return lines
}

func TestInstallHonoursLevel(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	ctx := With(context.Background(), "step", "ingest", "event_id", "e-1")
	ctx = With(ctx, "run_id", "r-1")
	emit := func() {
		slog.DebugContext(ctx, "d")
		slog.InfoContext(ctx, "i")
		slog.WarnContext(ctx, "w")
		slog.ErrorContext(ctx, "e")
	}
	line := func(sev, msg string) map[string]any {
		return map[string]any{"severity": sev, "message": msg, "step": "ingest", "event_id": "e-1", "run_id": "r-1"}
	}
	for _, c := range []struct {
		level string
		want  []map[string]any
	}{
		{"", []map[string]any{line("INFO", "i"), line("WARNING", "w"), line("ERROR", "e")}},
		{"debug", []map[string]any{line("DEBUG", "d"), line("INFO", "i"), line("WARNING", "w"), line("ERROR", "e")}},
		{"WARN", []map[string]any{line("WARNING", "w"), line("ERROR", "e")}},
		{"error", []map[string]any{line("ERROR", "e")}},
		{"loud", []map[string]any{
			{"severity": "WARNING", "message": "ignoring MEGA_LOG_LEVEL; logging at info",
				"error": `log level "loud": want debug, info, warn or error`},
			line("INFO", "i"), line("WARNING", "w"), line("ERROR", "e")}},
	} {
		var buf bytes.Buffer
		Install(&buf, func(k string) string {
			if k == LevelEnv {
				return c.level
			}
			return ""
		})
		emit()
		if diff := cmp.Diff(c.want, decodeLines(t, buf.String())); diff != "" {
			t.Errorf("MEGA_LOG_LEVEL=%q (-want +got):\n%s", c.level, diff)
		}
	}
}
