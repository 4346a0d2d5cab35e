package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/dataset"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

// EntryPoint is the name the function registers with functions-framework-go
// and the entry point it is deployed under.
const EntryPoint = config.FuncIngest

// StepName is the step's name in run records and messages.
const StepName = "ingest"

// Names of the outputs in the artifacts bucket, under runs/<run id>/ingest/.
const (
	CleanFile      = "clean.mgds"
	QuarantineFile = "quarantine.jsonl"
	SchemaFile     = "schema.json"
)

// LabelMetadata is the object metadata key that names the label column.
const LabelMetadata = "label"

// Timeouts of the cloud calls; the whole ingest of one file is bounded by
// the function's own timeout (540 s in Terraform).
const (
	callTimeout   = 30 * time.Second
	ingestTimeout = 8 * time.Minute
)

func init() {
	functions.CloudEvent(EntryPoint, Handle)
}

// Handle is the Cloud Function: it ingests the object a finalize event or a
// pipeline-trigger message names, with the process-wide clients.
func Handle(ctx context.Context, e event.Event) error {
	return New(nil).Handle(ctx, e)
}

// Function is the ingest function over given clients.
type Function struct {
	s *step.Step
}

// New returns the function. env returns the clients; nil means
// step.Default (built from the environment on first use).
func New(env func(context.Context) (*step.Env, error)) *Function {
	f := &Function{}
	f.s = &step.Step{Name: StepName, Function: EntryPoint, RunOf: runOf, Work: work, Env: env}
	return f
}

// Handle processes one CloudEvent. pipeline-trigger messages addressed to
// other steps are not acted on, and say so at WARNING: only ingest reads
// pipeline-trigger today (config.Subscriptions), so nothing else will run.
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	if e.Type() == events.TypeMessagePublished {
		if in, err := events.Parse(e); err == nil && in.Message != nil && in.Message.Step != StepName {
			slog.WarnContext(ctx, "pipeline-trigger not acted on: only step \"ingest\" reads pipeline-trigger", "step", in.Message.Step,
				"run_id", in.Message.RunID, "event_id", e.ID())
			return nil
		}
	}
	return f.s.Handle(ctx, e)
}

// target is the object one event asks to ingest.
type target struct {
	bucket, name string
	generation   int64
	size         int64             // 0 when unknown (no progress then)
	metadata     map[string]string // nil when the event did not carry it
	dataset      string
}

var datasetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// datasetOf is the first path segment of an object name, "" when the name
// has none.
func datasetOf(name string) string {
	d, _, ok := strings.Cut(name, "/")
	if !ok {
		return ""
	}
	return d
}

func targetOf(in events.Input) (target, error) {
	if o := in.Object; o != nil {
		return target{bucket: o.Bucket, name: o.Name, generation: int64(o.Generation), size: int64(o.Size), metadata: o.Metadata, dataset: datasetOf(o.Name)}, nil
	}
	m := in.Message
	if m == nil || m.Object == "" {
		return target{}, errors.New("pipeline-trigger for ingest names no object")
	}
	b, n, err := events.ParseObjectURI(m.Object)
	if err != nil {
		return target{}, err
	}
	return target{bucket: b, name: n, generation: m.Generation, dataset: datasetOf(n)}, nil
}

// runOf names the run of an event: the run id of the dropped object
// (runs.IDForObject), or the run id a pipeline-trigger message carries.
func runOf(in events.Input) (step.Run, error) {
	if in.Message != nil && in.Message.RunID != "" {
		return step.Run{ID: in.Message.RunID, Dataset: in.Message.Dataset}, nil
	}
	t, err := targetOf(in)
	if err != nil {
		return step.Run{}, err
	}
	source := events.ObjectURI(t.bucket, t.name)
	if t.generation > 0 {
		source += "#" + strconv.FormatInt(t.generation, 10)
	}
	return step.Run{ID: runs.IDForObject(t.dataset, t.bucket, t.name, t.generation), Dataset: t.dataset, Source: source}, nil
}

// work ingests one object.
func work(ctx context.Context, env *step.Env, run step.Run, in events.Input) (step.Result, error) {
	t, err := resolve(ctx, env, run, in)
	if err != nil {
		return step.Result{}, err
	}
	if CheckDatasetName(t.dataset) != nil {
		return step.Result{}, step.Permanentf("object %q: want <dataset>/<file> with a dataset name of letters, digits, '_', '.', '-' (at most 100)", t.name)
	}
	label := t.metadata[LabelMetadata]
	schemas := newSchemaStore(env.Docs)
	stored, err := schemas.get(ctx, t.dataset)
	if err != nil {
		return step.Result{}, err
	}
	var schema *dataset.Schema
	if stored != nil {
		schema = stored.Schema
	}
	art := env.Config.ArtifactsBucket
	cleanName := runs.ArtifactName(run.ID, StepName, CleanFile)
	quarName := runs.ArtifactName(run.ID, StepName, QuarantineFile)
	schemaName := runs.ArtifactName(run.ID, StepName, SchemaFile)

	ictx, cancel := context.WithTimeout(ctx, ingestTimeout)
	defer cancel()
	wctx, abort := context.WithCancel(ictx)
	defer abort()
	cleanW := env.Blob.Create(wctx, art, cleanName, blob.WriteOptions{ContentType: "application/octet-stream",
		Metadata: map[string]string{"run_id": run.ID, "dataset": t.dataset, "source": run.Source}})
	quarW := env.Blob.Create(wctx, art, quarName, blob.WriteOptions{ContentType: "application/x-ndjson",
		Metadata: map[string]string{"run_id": run.ID, "dataset": t.dataset, "source": run.Source}})
	passes := 1
	if schema == nil {
		passes = 2 // inference reads the file once more
	}
	prog := newProgress(ctx, env.Runs, run.ID, t.size, passes)
	open := func() (io.ReadCloser, error) {
		rc, err := env.Blob.Open(ictx, t.bucket, t.name, t.generation)
		if err != nil {
			return nil, err
		}
		return prog.wrap(rc), nil
	}
	res, err := dataset.Ingest(open, dataset.IngestOptions{Name: t.name, Schema: schema,
		Infer: dataset.InferOptions{Dataset: t.dataset, Label: label}}, cleanW, quarW)
	if err != nil {
		abort()
		cleanW.Close()
		quarW.Close()
		if dataset.IsInputError(err) {
			return step.Result{}, step.Permanent(err)
		}
		if errors.Is(err, blob.ErrNotExist) {
			return step.Result{}, step.Permanentf("read %s: the object (generation %d) no longer exists", events.ObjectURI(t.bucket, t.name), t.generation)
		}
		return step.Result{}, fmt.Errorf("ingest %s: %w", events.ObjectURI(t.bucket, t.name), err)
	}
	if err := cleanW.Close(); err != nil {
		quarW.Close()
		return step.Result{}, fmt.Errorf("ingest: %w", err)
	}
	if err := quarW.Close(); err != nil {
		return step.Result{}, fmt.Errorf("ingest: %w", err)
	}
	counts := map[string]int64{"rows": res.Rows, "clean": res.Clean, "quarantined": res.Bad}
	outputs := map[string]string{
		"clean":      events.ObjectURI(art, cleanName),
		"quarantine": events.ObjectURI(art, quarName),
		"schema":     events.ObjectURI(art, schemaName),
	}
	if res.Clean == 0 {
		return step.Result{}, step.Permanentf("no valid rows: all %d rows quarantined (%s)", res.Rows, outputs["quarantine"])
	}
	inferred := res.Inferred || (stored != nil && stored.Source == run.Source)
	if res.Inferred {
		if err := schemas.create(ctx, t.dataset, res.Schema, run.Source); err != nil {
			return step.Result{}, err
		}
	}
	js, err := res.Schema.MarshalIndent()
	if err != nil {
		return step.Result{}, fmt.Errorf("ingest: %w", err)
	}
	pctx, pcancel := context.WithTimeout(ctx, callTimeout)
	defer pcancel()
	if _, err := env.Blob.Put(pctx, art, schemaName, js, blob.WriteOptions{ContentType: "application/json"}); err != nil {
		return step.Result{}, fmt.Errorf("ingest: %w", err)
	}
	slog.InfoContext(ctx, "ingested", "object", events.ObjectURI(t.bucket, t.name), "format", res.Format,
		"rows", res.Rows, "clean", res.Clean, "quarantined", res.Bad, "schema_inferred", inferred)
	source := run.Source
	if source == "" {
		source = events.ObjectURI(t.bucket, t.name) + "#" + strconv.FormatInt(t.generation, 10)
	}
	msg := events.Message{RunID: run.ID, Dataset: t.dataset, Step: StepName, Inputs: []string{source}, Artifacts: outputs,
		Params: map[string]string{"rows": strconv.FormatInt(res.Clean, 10), "format": string(res.Format),
			"task": string(res.Schema.Task), "label": res.Schema.Label, "schema_inferred": strconv.FormatBool(inferred)}}
	reason := ""
	if res.Bad > 0 {
		reason = fmt.Sprintf("%d of %d rows quarantined", res.Bad, res.Rows)
		if stored != nil && !res.Inferred && 2*res.Bad > res.Rows {
			// Most rows failed the stored schema: say which columns conflict.
			reason += fmt.Sprintf("; the file conflicts with dataset %s's stored schema (from %s) in: %s", t.dataset, stored.Source, res.Counts.Summary())
		} else {
			reason += ": " + res.Counts.Summary()
		}
	}
	return step.Result{
		Outcome: runs.Outcome{Status: runs.StatusSucceeded, Reason: reason, Counts: counts, Outputs: outputs},
		Publish: []step.Publication{{Topic: config.TopicDatasetReady, Message: msg}},
	}, nil
}

// resolve completes the target: a pipeline-trigger message may carry a run
// id only (re-ingest that run's object) and no generation or metadata.
func resolve(ctx context.Context, env *step.Env, run step.Run, in events.Input) (target, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var t target
	if in.Object == nil && in.Message != nil && in.Message.RunID != "" {
		// A re-triggered run is bound to the object generation it was
		// created for: it reads that generation, never the latest.
		r, err := env.Runs.Get(cctx, run.ID)
		switch {
		case err == nil && r.Source != "":
			bound, err := sourceTarget(r.Source)
			if err != nil {
				return t, step.Permanent(err)
			}
			if m := in.Message; m.Object != "" {
				b, n, err := events.ParseObjectURI(m.Object)
				if err != nil {
					return t, step.Permanent(err)
				}
				if b != bound.bucket || n != bound.name || (m.Generation != 0 && bound.generation != 0 && m.Generation != bound.generation) {
					return t, step.Permanentf("run %s was created for %s; the message names %s generation %d: a run is bound to its object generation (drop the file again for a new run)",
						run.ID, r.Source, m.Object, m.Generation)
				}
			}
			t = bound
		case err != nil && !errors.Is(err, runs.ErrNotFound):
			return t, fmt.Errorf("ingest: read run %s: %w", run.ID, err)
		case in.Message.Object == "":
			return t, step.Permanentf("pipeline-trigger for run %s names no object, and the run records none", run.ID)
		default:
			if t, err = targetOf(in); err != nil {
				return t, step.Permanent(err)
			}
		}
	} else {
		var err error
		if t, err = targetOf(in); err != nil {
			return t, step.Permanent(err)
		}
	}
	if t.metadata == nil || t.generation == 0 {
		a, err := env.Blob.Stat(cctx, t.bucket, t.name)
		if errors.Is(err, blob.ErrNotExist) {
			return t, step.Permanentf("object %s does not exist", events.ObjectURI(t.bucket, t.name))
		}
		if err != nil {
			return t, fmt.Errorf("ingest: %w", err)
		}
		if t.generation == 0 {
			t.generation = a.Generation
		}
		if a.Generation == t.generation {
			if t.metadata == nil {
				t.metadata = a.Metadata
			}
			t.size = a.Size
		}
	}
	return t, nil
}

// sourceTarget parses a run's source, gs://bucket/name#generation.
func sourceTarget(source string) (target, error) {
	uri, gen, _ := strings.Cut(source, "#")
	b, n, err := events.ParseObjectURI(uri)
	if err != nil {
		return target{}, err
	}
	var g int64
	if gen != "" {
		if g, err = strconv.ParseInt(gen, 10, 64); err != nil {
			return target{}, fmt.Errorf("run source %q: bad generation", source)
		}
	}
	return target{bucket: b, name: n, generation: g, dataset: datasetOf(n)}, nil
}

func permanentf(format string, a ...any) error { return step.Permanentf(format, a...) }
