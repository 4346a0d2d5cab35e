package collect

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/predlog"
)

// MaxBatchIDs bounds the batch ids an aggregate records (8 bytes each, about
// 175 KB of base64 at the bound). Batches merged beyond it are still counted,
// but not recorded: a redelivery of one of them would be counted twice.
// Cloud Storage takes about one write per second to one object name, so a
// window's aggregate cannot take more than a few hundred merges anyway.
const MaxBatchIDs = 16384

// callTimeout bounds one storage call of a merge.
const callTimeout = time.Minute

// DefaultAttempts bounds the read-merge-write attempts of one batch.
const DefaultAttempts = 12

// ErrConflict is returned when a batch could not be merged into its window's
// aggregate within the attempts, because other writers kept winning: the
// delivery is retried.
var ErrConflict = errors.New("collect: aggregate write conflict")

// Aggregate is the object predictions/<model>/<window start>/<version>.window.json:
// the drift.Window of every batch of one model version in one window, merged,
// and the ids of those batches. Its JSON is a drift.Window with two more
// fields, so drift.ParseWindow reads it as it is.
type Aggregate struct {
	*drift.Window
	// Batches is the sorted FNV-64a hashes of the merged batch ids, as
	// big-endian 8-byte words, base64 (std) encoded.
	Batches string `json:"batches"`
	// Unrecorded counts the batches merged after MaxBatchIDs ids.
	Unrecorded int64 `json:"unrecorded_batches,omitempty"`
}

// batchHash is the recorded form of a batch id.
func batchHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// ids decodes Batches.
func (a *Aggregate) ids() ([]uint64, error) {
	b, err := base64.StdEncoding.DecodeString(a.Batches)
	if err != nil || len(b)%8 != 0 {
		return nil, fmt.Errorf("%w: batch ids", drift.ErrFormat)
	}
	out := make([]uint64, len(b)/8)
	for i := range out {
		out[i] = binary.BigEndian.Uint64(b[8*i:])
	}
	if !slices.IsSorted(out) {
		return nil, fmt.Errorf("%w: batch ids not sorted", drift.ErrFormat)
	}
	return out, nil
}

func (a *Aggregate) setIDs(ids []uint64) {
	b := make([]byte, 8*len(ids))
	for i, v := range ids {
		binary.BigEndian.PutUint64(b[8*i:], v)
	}
	a.Batches = base64.StdEncoding.EncodeToString(b)
}

// Has reports whether the aggregate records batch id.
func (a *Aggregate) Has(id string) (bool, error) {
	ids, err := a.ids()
	if err != nil {
		return false, err
	}
	_, ok := slices.BinarySearch(ids, batchHash(id))
	return ok, nil
}

// ParseAggregate decodes an aggregate and binds its window to ref.
func ParseAggregate(data []byte, ref *drift.Reference) (*Aggregate, error) {
	a := Aggregate{Window: &drift.Window{}}
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("parse aggregate: %w: %w", drift.ErrFormat, err)
	}
	if err := a.Window.Bind(ref); err != nil {
		return nil, fmt.Errorf("parse aggregate: %w", err)
	}
	if _, err := a.ids(); err != nil {
		return nil, fmt.Errorf("parse aggregate: %w", err)
	}
	return &a, nil
}

// pending is one batch waiting to be merged into an aggregate.
type pending struct {
	id   string
	hash uint64
	win  *drift.Window
	done chan error    // the merge's outcome
	lead chan struct{} // closed when this batch's goroutine is to run the next merge
}

// queue is the batches of one aggregate waiting for a merge; running tells
// whether a goroutine is merging.
type queue struct {
	items   []*pending
	running bool
}

// merge folds one batch's window into the window's aggregate. Batches of
// the same aggregate that arrive in this process while a merge is running
// wait and are merged together by the next one (group commit), so the
// aggregate is written once per round trip whatever the number of
// concurrent deliveries. The goroutine of the oldest waiting batch runs the
// next merge.
func (c *Collector) merge(ctx context.Context, g *group, ref *drift.Reference, win *drift.Window, batchID string, meta map[string]string) error {
	name := predlog.AggregateName(g.model, g.version, g.start)
	p := &pending{id: batchID, hash: batchHash(batchID), win: win, done: make(chan error, 1), lead: make(chan struct{})}
	c.mu.Lock()
	if c.queues == nil {
		c.queues = map[string]*queue{}
	}
	q := c.queues[name]
	if q == nil {
		q = &queue{}
		c.queues[name] = q
	}
	q.items = append(q.items, p)
	leader := !q.running
	q.running = true
	c.mu.Unlock()
	if !leader {
		select {
		case err := <-p.done:
			return err
		case <-p.lead:
		}
	}
	c.mu.Lock()
	items := q.items
	q.items = nil
	c.mu.Unlock()
	err := c.mergeGroup(ctx, name, ref, items, meta)
	for _, it := range items {
		it.done <- err
	}
	c.mu.Lock()
	if len(q.items) > 0 {
		close(q.items[0].lead) // its goroutine merges the next group
	} else {
		q.running = false
		delete(c.queues, name)
	}
	c.mu.Unlock()
	return <-p.done
}

// mergeGroup folds batches into an aggregate: read it with its generation,
// drop the batches it records, merge the others, and write it back on that
// generation (create when absent); retry on a lost race, with jittered
// exponential backoff, at most c.Attempts times.
func (c *Collector) mergeGroup(ctx context.Context, name string, ref *drift.Reference, items []*pending, meta map[string]string) error {
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	for attempt := range attempts {
		if attempt > 0 {
			d := min(time.Second, 25*time.Millisecond<<(attempt-1))
			d = d/2 + rand.N(d) // jitter: [d/2, 3d/2)
			select {
			case <-ctx.Done():
				return fmt.Errorf("collect: merge %s: %w", name, ctx.Err())
			case <-time.After(d):
			}
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		data, gen, err := c.Store.ReadGen(cctx, c.Bucket, name)
		cancel()
		var agg *Aggregate
		switch {
		case errors.Is(err, blob.ErrNotExist):
			gen = 0
			w, err := drift.NewWindow(ref)
			if err != nil {
				return fmt.Errorf("collect: merge %s: %w", name, err)
			}
			agg = &Aggregate{Window: w}
		case err != nil:
			return fmt.Errorf("collect: read aggregate: %w", err)
		default:
			if agg, err = ParseAggregate(data, ref); err != nil {
				// Not retryable; the batches' rows are filed, so nothing is lost.
				slog.ErrorContext(ctx, "window aggregate unreadable; batches not merged", "object", name, "error", err)
				return nil
			}
		}
		ids, _ := agg.ids() // validated by ParseAggregate
		merged := 0
		for _, it := range items {
			i, seen := slices.BinarySearch(ids, it.hash)
			if seen {
				slog.InfoContext(ctx, "batch already in the window aggregate", "object", name, "batch", it.id)
				continue
			}
			if err := agg.Window.Merge(it.win); err != nil {
				slog.ErrorContext(ctx, "cannot merge the batch into the window aggregate", "object", name, "batch", it.id, "error", err)
				continue
			}
			merged++
			if len(ids) < MaxBatchIDs {
				ids = slices.Insert(ids, i, it.hash)
			} else {
				agg.Unrecorded++
				slog.WarnContext(ctx, "window aggregate records no more batch ids; a redelivery of this batch would count twice",
					"object", name, "batch", it.id, "max", MaxBatchIDs)
			}
		}
		if merged == 0 {
			return nil
		}
		agg.setIDs(ids)
		body, err := json.Marshal(agg)
		if err != nil {
			return fmt.Errorf("collect: encode aggregate: %w", err)
		}
		m := make(map[string]string, len(meta)+1)
		for k, v := range meta {
			m[k] = v
		}
		m["rows"] = strconv.FormatInt(agg.Window.Rows(), 10)
		m["batches"] = strconv.FormatInt(int64(len(ids))+agg.Unrecorded, 10)
		cctx, cancel = context.WithTimeout(ctx, callTimeout)
		_, err = c.Store.PutIf(cctx, c.Bucket, name, body, blob.WriteOptions{ContentType: "application/json", Metadata: m}, gen)
		cancel()
		if errors.Is(err, blob.ErrPrecondition) {
			continue
		}
		if err != nil {
			return fmt.Errorf("collect: write aggregate: %w", err)
		}
		if attempt > 0 || len(items) > 1 {
			slog.InfoContext(ctx, "batches merged", "object", name, "batches", merged, "attempts", attempt+1)
		}
		return nil
	}
	return fmt.Errorf("%w: %s: %d attempts lost to other writers", ErrConflict, name, attempts)
}
