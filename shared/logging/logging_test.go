package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
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
