package ingest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/megapipe/mega/functions/ingest"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/runs"
)

// TestReplayReadsItsGeneration replays issue 17's first bullet on the
// emulators: drop data.csv (178 rows) into dataset dup, drop a different
// data.csv (100 rows) under the same name, then re-trigger the first run as
// mega trigger did before (object without generation) and as it does now
// (with the generation): the old run ingests its own generation's 178 rows,
// never the latest file; a message naming another generation is refused.
func TestReplayReadsItsGeneration(t *testing.T) {
	w := newWorld(t, nil)
	first := w.drop("wine_dirty.csv", "dup/data.csv", nil)
	w.deliver(first, 30*time.Second)
	second := w.drop("wine_more.csv", "dup/data.csv", nil)
	w.deliver(second, 30*time.Second)
	id1, id2 := runIDOf(first), runIDOf(second)
	if id1 == id2 {
		t.Fatal("two generations gave one run id")
	}
	if got := w.run(id2).Steps[ingest.StepName].Counts["rows"]; got != 100 {
		t.Fatalf("second drop: %d rows, want 100", got)
	}
	var d1 events.StorageObjectData
	json.Unmarshal(first.Data(), &d1)
	publish := func(id string, m events.Message) event.Event {
		b, _ := json.Marshal(m)
		e, err := events.NewMessageEvent(w.emu.Project, config.TopicPipelineTrigger, "", events.PubsubMessage{Data: b, MessageID: id, PublishTime: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	obj := events.ObjectURI(w.raw, "dup/data.csv")
	for i, m := range []events.Message{
		{RunID: id1, Dataset: "dup", Step: "ingest", Object: obj},                                   // the old trigger: no generation
		{RunID: id1, Dataset: "dup", Step: "ingest", Object: obj, Generation: int64(d1.Generation)}, // mega trigger now
		{RunID: id1, Dataset: "dup", Step: "ingest"},                                                // run id only
	} {
		w.deliver(publish("replay-"+string(rune('a'+i)), m), 30*time.Second)
		st := w.run(id1).Steps[ingest.StepName]
		if st.Status != runs.StatusSucceeded || st.Counts["rows"] != 178 || st.Counts["clean"] != 173 {
			t.Errorf("replay %d of run %s: %s rows %d clean %d (%s), want its own generation's 178 rows, 173 clean",
				i, id1, st.Status, st.Counts["rows"], st.Counts["clean"], st.Reason)
		}
	}
	// A message that names another generation for the run is refused.
	var d2 events.StorageObjectData
	json.Unmarshal(second.Data(), &d2)
	w.deliver(publish("replay-other", events.Message{RunID: id1, Dataset: "dup", Step: "ingest", Object: obj, Generation: int64(d2.Generation)}), 30*time.Second)
	st := w.run(id1).Steps[ingest.StepName]
	if st.Status != runs.StatusFailed || st.Counts["rows"] == 100 {
		t.Errorf("run %s given another generation: %s %v %q, want failed naming its generation", id1, st.Status, st.Counts, st.Reason)
	}
	if r := w.run(id1); r.Source != obj+"#"+itoa(int64(d1.Generation)) {
		t.Errorf("run source %q changed", r.Source)
	}
	_ = context.Background
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
