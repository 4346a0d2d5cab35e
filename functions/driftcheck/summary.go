package driftcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/docstore"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/registry"
)

// ErrNoCheck means a model has no recorded check.
var ErrNoCheck = errors.New("no drift check recorded")

// checksColl is the subcollection of a model's document holding its checks.
const checksColl = "checks"

// modelDoc is the document of a model in config.CollDrift.
type modelDoc struct {
	Model   string    `firestore:"model"`
	Latest  Summary   `firestore:"latest"`
	Updated time.Time `firestore:"updated"`
}

func modelRef(c *firestore.Client, model string) *firestore.DocumentRef {
	return c.Collection(config.CollDrift).Doc(model)
}

// saveSummary writes the check's document and moves "latest" to it unless a
// newer check is already there.
func (c *Checker) saveSummary(ctx context.Context, s Summary) error {
	ref := modelRef(c.Docs, s.Model)
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	err := c.Docs.RunTransaction(cctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if err != nil && status.Code(err) != codes.NotFound {
			return err
		}
		newer := false
		if err == nil {
			var d modelDoc
			if err := snap.DataTo(&d); err == nil && d.Latest.CheckTime.After(s.CheckTime) {
				newer = true
			}
		}
		if err := tx.Set(ref.Collection(checksColl).Doc(s.CheckID), s); err != nil {
			return err
		}
		if newer {
			return nil
		}
		return tx.Set(ref, modelDoc{Model: s.Model, Latest: s, Updated: c.now().UTC()})
	})
	if err != nil {
		return fmt.Errorf("save summary: %w", err)
	}
	return nil
}

// previous tells whether the model's newest check before at drifted (nil
// when there is none).
func (c *Checker) previous(ctx context.Context, model string, at time.Time) (*bool, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	snaps, err := modelRef(c.Docs, model).Collection(checksColl).Where("check_time", "<", at).
		OrderBy("check_time", firestore.Desc).Limit(1).Documents(cctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("read previous check: %w", err)
	}
	if len(snaps) == 0 {
		return nil, nil
	}
	var s Summary
	if err := snaps[0].DataTo(&s); err != nil {
		return nil, fmt.Errorf("decode previous check %s: %w", snaps[0].Ref.Path, err)
	}
	d := s.DatasetDrift
	return &d, nil
}

// retrain publishes the closed loop's pipeline-trigger (once per check).
func (c *Checker) retrain(ctx context.Context, s *Summary, ver registry.Version, at time.Time, eventID string) error {
	if ver.RunID == "" {
		slog.WarnContext(ctx, "retrain skipped: the serving version records no run")
		return nil
	}
	run, err := c.Runs.Get(ctx, ver.RunID)
	if err != nil || run.Source == "" {
		slog.WarnContext(ctx, "retrain skipped: the version's run records no source object", "run_id", ver.RunID, "error", err)
		return nil
	}
	uri, gen, _ := strings.Cut(run.Source, "#")
	if _, _, err := events.ParseObjectURI(uri); err != nil {
		slog.WarnContext(ctx, "retrain skipped: unreadable source", "source", run.Source)
		return nil
	}
	g, _ := strconv.ParseInt(gen, 10, 64)
	runID := "retrain-" + strings.ToLower(s.Model) + "-" + strings.ToLower(s.CheckID)
	msg := events.Message{RunID: runID, Dataset: run.Dataset, Step: "ingest", Object: uri, Generation: g,
		Inputs: []string{run.Source, s.ReportJSON}, Model: s.Model, Version: s.Version,
		Params: map[string]string{"reason": "drift", "report": s.ReportJSON, "drift_share": strconv.FormatFloat(s.DriftShare, 'g', 6, 64),
			"previous_run": ver.RunID}}
	if _, err := c.once(ctx, s.Model, at, "retrain", eventID, func() (string, error) {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		id, err := c.Topics.PublishJSON(cctx, config.TopicPipelineTrigger, msg, nil)
		if err != nil {
			return "", fmt.Errorf("publish retrain trigger: %w", err)
		}
		slog.InfoContext(ctx, "retrain triggered", "run_id", runID, "object", run.Source, "message_id", id)
		return "published " + id, nil
	}); err != nil {
		return err
	}
	s.Retrain = runID
	return nil
}

// Latest returns a model's newest check.
func Latest(ctx context.Context, docs *firestore.Client, model string) (Summary, error) {
	snap, err := modelRef(docs, model).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Summary{}, fmt.Errorf("%w for model %s", ErrNoCheck, model)
	}
	if err != nil {
		return Summary{}, fmt.Errorf("read drift summary of %s: %w", model, err)
	}
	var d modelDoc
	if err := snap.DataTo(&d); err != nil {
		return Summary{}, fmt.Errorf("decode drift summary of %s: %w", model, err)
	}
	return d.Latest, nil
}

// LatestAll returns the newest check of every model checked so far, by model
// name.
func LatestAll(ctx context.Context, docs *firestore.Client) ([]Summary, error) {
	it := docs.Collection(config.CollDrift).OrderBy(firestore.DocumentID, firestore.Asc).Documents(ctx)
	defer it.Stop()
	var out []Summary
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list drift summaries: %w", err)
		}
		var d modelDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("decode drift summary %s: %w", snap.Ref.ID, err)
		}
		out = append(out, d.Latest)
	}
}

// History returns a model's checks, newest first, at most limit (all when
// limit <= 0).
func History(ctx context.Context, docs *firestore.Client, model string, limit int) ([]Summary, error) {
	q := modelRef(docs, model).Collection(checksColl).OrderBy("check_time", firestore.Desc)
	if limit > 0 {
		q = q.Limit(limit)
	}
	out, err := docstore.All[Summary](ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list drift checks of %s: %w", model, err)
	}
	return out, nil
}
