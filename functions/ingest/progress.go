package ingest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/megapipe/mega/shared/runs"
)

// progressEvery is how often a long ingest records its progress in the run
// record (mega runs --watch draws it).
const progressEvery = 2 * time.Second

// progress counts the bytes read over every pass and records the fraction
// done, at most every progressEvery. Recording is best effort: a failure is
// logged, never fatal.
type progress struct {
	ctx      context.Context
	store    *runs.Store
	runID    string
	total    int64 // bytes over all passes
	mu       sync.Mutex
	read     int64
	last     time.Time
	every    time.Duration
	recorder func(ctx context.Context, frac float64)
}

func newProgress(ctx context.Context, store *runs.Store, runID string, size int64, passes int) *progress {
	p := &progress{ctx: ctx, store: store, runID: runID, total: size * int64(passes), last: time.Now(), every: progressEvery}
	p.recorder = func(ctx context.Context, frac float64) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := p.store.Progress(ctx, p.runID, StepName, frac, nil); err != nil {
			slog.WarnContext(ctx, "cannot record progress", "error", err)
		}
	}
	return p
}

func (p *progress) wrap(rc io.ReadCloser) io.ReadCloser { return &progressReader{rc: rc, p: p} }

func (p *progress) add(n int) {
	if p == nil || p.total <= 0 || n <= 0 {
		return
	}
	p.mu.Lock()
	p.read += int64(n)
	now := time.Now()
	if now.Sub(p.last) < p.every {
		p.mu.Unlock()
		return
	}
	p.last = now
	frac := min(float64(p.read)/float64(p.total), 0.99)
	p.mu.Unlock()
	p.recorder(p.ctx, frac)
}

type progressReader struct {
	rc io.ReadCloser
	p  *progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.rc.Read(b)
	r.p.add(n)
	return n, err
}

func (r *progressReader) Close() error { return r.rc.Close() }
