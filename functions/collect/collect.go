package collect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/logging"
	"github.com/megapipe/mega/shared/predlog"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/step"
)

// EntryPoint is the name the function registers with functions-framework-go
// and the entry point it is deployed under.
const EntryPoint = config.FuncCollect

// ReferenceArtifact is the registry artifact holding a version's drift
// reference profile (written by featurize, with the prediction profile added
// by train, registered by quantize).
const ReferenceArtifact = "reference"

// DefaultWindow is the length of a window: the drift check's period
// (config.DriftSchedule, every 5 minutes).
const DefaultWindow = config.DefaultCollectWindow

// Store reads and writes objects (package blob's Store).
type Store interface {
	Put(ctx context.Context, bucket, name string, data []byte, o blob.WriteOptions) (int64, error)
	PutIf(ctx context.Context, bucket, name string, data []byte, o blob.WriteOptions, ifGeneration int64) (int64, error)
	ReadAll(ctx context.Context, bucket, name string) ([]byte, error)
	ReadGen(ctx context.Context, bucket, name string) ([]byte, int64, error)
}

// Versions reads model versions (package registry's Registry).
type Versions interface {
	Get(ctx context.Context, name, version string) (registry.Version, error)
}

// Collector files prediction batches.
type Collector struct {
	Store    Store
	Versions Versions
	Bucket   string        // the artifacts bucket
	Window   time.Duration // default DefaultWindow
	Attempts int           // read-merge-write attempts per batch, default DefaultAttempts

	refs sync.Map // model/version -> *drift.Reference (nil: the version has none)

	mu     sync.Mutex
	queues map[string]*queue // aggregate name -> batches waiting to be merged
}

var (
	defaultMu sync.Mutex
	defaultC  *Collector
)

// defaultCollector builds the collector from the environment on first use.
func defaultCollector(ctx context.Context) (*Collector, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultC != nil {
		return defaultC, nil
	}
	env, err := step.Default(ctx)
	if err != nil {
		return nil, err
	}
	w := config.CollectWindow(os.LookupEnv)
	defaultC = &Collector{Store: env.Blob, Versions: registry.New(env.Docs), Bucket: env.Config.ArtifactsBucket, Window: w}
	return defaultC, nil
}

func init() {
	functions.CloudEvent(EntryPoint, func(ctx context.Context, e event.Event) error {
		c, err := defaultCollector(ctx)
		if err != nil {
			return fmt.Errorf("collect: clients: %w", err)
		}
		return c.Handle(ctx, e)
	})
}

// group is the rows of one model version in one window.
type group struct {
	model, version string
	start          time.Time
	lines          [][]byte
	samples        []predlog.Sample
}

// Handle files one predictions message. A malformed event is dropped (nil);
// a storage or registry failure, or an aggregate that other writers kept
// winning (ErrConflict), is returned, so the delivery is retried: it rewrites
// the same rows and merges only the windows that do not record the batch.
func (c *Collector) Handle(ctx context.Context, e event.Event) error {
	ctx = logging.With(ctx, "function", EntryPoint, "event_id", e.ID())
	if e.Type() != events.TypeMessagePublished {
		slog.ErrorContext(ctx, "dropping event of unexpected type", "type", e.Type())
		return nil
	}
	var d events.MessagePublishedData
	if err := json.Unmarshal(e.Data(), &d); err != nil {
		slog.ErrorContext(ctx, "dropping malformed event", "error", err)
		return nil
	}
	batchID := d.Message.MessageID
	if batchID == "" {
		batchID = e.ID()
	}
	if batchID == "" {
		slog.ErrorContext(ctx, "dropping message without an id")
		return nil
	}
	batchID = predlog.SafeName(batchID)
	groups, bad := c.parse(d.Message.Data, d.Message.PublishTime)
	if bad > 0 {
		slog.WarnContext(ctx, "skipped unreadable sample lines", "lines", bad)
	}
	for _, g := range groups {
		if err := c.write(ctx, g, batchID); err != nil {
			return err
		}
	}
	slog.InfoContext(ctx, "predictions filed", "batch", batchID, "groups", len(groups), "bad_lines", bad)
	return nil
}

// parse splits a batch into groups by model, version and window.
func (c *Collector) parse(data []byte, published time.Time) ([]*group, int) {
	w := c.Window
	if w <= 0 {
		w = DefaultWindow
	}
	byKey := map[string]*group{}
	bad := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var s predlog.Sample
		if err := json.Unmarshal(line, &s); err != nil || s.Model == "" || s.Version == "" || predlog.SafeName(s.Model) != s.Model {
			bad++
			continue
		}
		t := s.Time
		if t.IsZero() {
			t = published
		}
		start := t.UTC().Truncate(w)
		key := s.Model + "\x00" + s.Version + "\x00" + strconv.FormatInt(start.Unix(), 10)
		g := byKey[key]
		if g == nil {
			g = &group{model: s.Model, version: s.Version, start: start}
			byKey[key] = g
		}
		g.lines = append(g.lines, append([]byte(nil), line...))
		g.samples = append(g.samples, s)
	}
	if sc.Err() != nil {
		bad++
	}
	out := make([]*group, 0, len(byKey))
	for _, g := range byKey {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.model != b.model {
			return a.model < b.model
		}
		if a.version != b.version {
			return a.version < b.version
		}
		return a.start.Before(b.start)
	})
	return out, bad
}

func (c *Collector) write(ctx context.Context, g *group, batchID string) error {
	rowsName := predlog.RowsName(g.model, g.version, g.start, batchID)
	meta := map[string]string{"model": g.model, "version": g.version, "window_start": g.start.Format(time.RFC3339),
		"window_end": g.start.Add(c.windowLen()).Format(time.RFC3339), "rows": strconv.Itoa(len(g.lines))}
	body := append(bytes.Join(g.lines, []byte{'\n'}), '\n')
	if _, err := c.Store.Put(ctx, c.Bucket, rowsName, body, blob.WriteOptions{ContentType: "application/x-ndjson", Metadata: meta}); err != nil {
		return fmt.Errorf("collect: write rows: %w", err)
	}
	ref, err := c.reference(ctx, g.model, g.version)
	if err != nil {
		return err
	}
	if ref == nil {
		return nil
	}
	win, err := Fold(ref, g.samples)
	if err != nil {
		slog.WarnContext(ctx, "cannot fold the batch into a window profile", "model", g.model, "version", g.version, "error", err)
		return nil
	}
	delete(meta, "rows")
	return c.merge(ctx, g, ref, win, batchID, meta)
}

func (c *Collector) windowLen() time.Duration {
	if c.Window <= 0 {
		return DefaultWindow
	}
	return c.Window
}

// reference returns a version's drift reference, or nil when it has none.
func (c *Collector) reference(ctx context.Context, model, version string) (*drift.Reference, error) {
	key := model + "/" + version
	if v, ok := c.refs.Load(key); ok {
		return v.(*drift.Reference), nil
	}
	v, err := c.Versions.Get(ctx, model, version)
	if errors.Is(err, registry.ErrNotFound) {
		slog.WarnContext(ctx, "model version not in the registry; rows filed without a profile", "model", model, "version", version)
		c.refs.Store(key, (*drift.Reference)(nil))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	a, ok := v.Artifacts[ReferenceArtifact]
	if !ok || a.URI == "" {
		slog.WarnContext(ctx, "version has no drift reference; rows filed without a profile", "model", model, "version", version)
		c.refs.Store(key, (*drift.Reference)(nil))
		return nil, nil
	}
	bucket, name, err := events.ParseObjectURI(a.URI)
	if err != nil {
		c.refs.Store(key, (*drift.Reference)(nil))
		return nil, nil
	}
	b, err := c.Store.ReadAll(ctx, bucket, name)
	if err != nil {
		return nil, fmt.Errorf("collect: read reference: %w", err)
	}
	ref, err := drift.ParseReference(b)
	if err != nil {
		slog.ErrorContext(ctx, "drift reference unreadable; rows filed without a profile", "uri", a.URI, "error", err)
		c.refs.Store(key, (*drift.Reference)(nil))
		return nil, nil
	}
	c.refs.Store(key, ref)
	return ref, nil
}

// Fold makes the window profile of samples against a reference: each
// sample's raw features by reference column name (a missing feature, a
// null, or a value of the wrong kind counts as missing) and, when the
// reference profiles predictions, the label (classifiers) or the value
// (regression).
func Fold(ref *drift.Reference, samples []predlog.Sample) (*drift.Window, error) {
	win, err := drift.NewWindow(ref)
	if err != nil {
		return nil, err
	}
	schema := ref.Schema()
	row := make(drift.Row, len(schema))
	for _, s := range samples {
		for i, f := range schema {
			row[i] = valueOf(f.Kind, s.Features[f.Name])
		}
		if err := win.Add(row); err != nil {
			return nil, err
		}
		if ref.Prediction != nil {
			var p drift.Value
			switch {
			case ref.Prediction.Kind == drift.Categorical && s.Label != "":
				p = drift.Cat(s.Label)
			case ref.Prediction.Kind == drift.Numeric && len(s.Outputs) == 1:
				p = drift.Num(s.Outputs[0])
			default:
				p = drift.Null()
			}
			if err := win.AddPrediction(p); err != nil {
				return nil, err
			}
		}
	}
	return win, nil
}

func valueOf(k drift.Kind, v any) drift.Value {
	switch x := v.(type) {
	case float64:
		if k == drift.Numeric {
			return drift.Num(x)
		}
		return drift.Cat(strconv.FormatFloat(x, 'g', -1, 64))
	case string:
		if k == drift.Categorical {
			return drift.Cat(x)
		}
	}
	return drift.Null()
}
