package serve

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/predlog"
)

// Publisher publishes one Pub/Sub message (package topic's Publisher).
type Publisher interface {
	Publish(ctx context.Context, topic string, data []byte, attrs map[string]string) (string, error)
}

// SamplerOptions configure prediction logging.
type SamplerOptions struct {
	// Share of requests logged, in [0, 1] (default 1: every request).
	Share float64
	// Rate caps logged instances per second (default 1000); above it
	// instances are skipped (not counted as dropped).
	Rate float64
	// Queue bounds the instances waiting to be published (default 10000);
	// when it is full a sample is dropped and counted.
	Queue int
	// BatchRows and BatchDelay cut batches: a message is published when it
	// holds BatchRows instances (default 500) or BatchDelay has passed since
	// its first (default 1 s).
	BatchRows  int
	BatchDelay time.Duration
	// Topic is the topic id (default config.TopicPredictions).
	Topic string
	// Instance names this server instance in message attributes.
	Instance string
	Logger   *slog.Logger
}

// Sampler logs a sampled share of predictions to the predictions topic in
// batches, from a bounded queue. Serving never waits on it.
type Sampler struct {
	opts SamplerOptions
	pub  Publisher
	q    chan []byte

	mu     sync.Mutex
	tokens float64
	last   time.Time

	dropped, skipped, published, failed atomic.Int64
	stats                               func(m *Model) *modelStats
	done                                chan struct{}
}

// NewSampler returns a sampler publishing with pub; call Run to start it.
func NewSampler(pub Publisher, opts SamplerOptions) *Sampler {
	if opts.Share <= 0 || opts.Share > 1 {
		if opts.Share == 0 {
			opts.Share = 1
		} else {
			opts.Share = min(max(opts.Share, 0), 1)
		}
	}
	if opts.Rate <= 0 {
		opts.Rate = 1000
	}
	if opts.Queue <= 0 {
		opts.Queue = 10000
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = 500
	}
	if opts.BatchDelay <= 0 {
		opts.BatchDelay = time.Second
	}
	if opts.Topic == "" {
		opts.Topic = config.TopicPredictions
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Sampler{opts: opts, pub: pub, q: make(chan []byte, opts.Queue), tokens: opts.Rate, last: time.Now(), done: make(chan struct{})}
}

// SamplerCounters are the sampler's totals.
type SamplerCounters struct {
	Published int64 `json:"published"` // instances published
	Dropped   int64 `json:"dropped"`   // queue full or publish failed
	Skipped   int64 `json:"skipped"`   // over the rate
	Queued    int   `json:"queued"`
}

// Counters returns the totals.
func (sp *Sampler) Counters() SamplerCounters {
	return SamplerCounters{Published: sp.published.Load(), Dropped: sp.dropped.Load() + sp.failed.Load(),
		Skipped: sp.skipped.Load(), Queued: len(sp.q)}
}

// take reports whether n more instances fit the rate.
func (sp *Sampler) take(now time.Time) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.tokens += now.Sub(sp.last).Seconds() * sp.opts.Rate
	sp.last = now
	if sp.tokens > sp.opts.Rate {
		sp.tokens = sp.opts.Rate
	}
	if sp.tokens < 1 {
		return false
	}
	sp.tokens--
	return true
}

// sample logs the instances of one answered request.
func (sp *Sampler) sample(m *Model, b *batch, at time.Time) {
	if sp.opts.Share < 1 && rand.Float64() >= sp.opts.Share {
		return
	}
	for i := range b.n {
		if !sp.take(at) {
			sp.skipped.Add(int64(b.n - i))
			return
		}
		line := m.appendSample(make([]byte, 0, 64+16*b.nf+12*m.outputs), b.cells[i*b.nf:(i+1)*b.nf], b.out[i*m.outputs:(i+1)*m.outputs], at)
		select {
		case sp.q <- line:
		default:
			sp.dropped.Add(1)
			if sp.stats != nil {
				sp.stats(m).dropped.Add(1)
			}
		}
	}
}

// Sample is one logged prediction, a line of a predictions message. The
// type lives in shared/predlog, so that collect can read the lines without
// linking the inference service.
type Sample = predlog.Sample

func (m *Model) appendSample(b []byte, row []cell, out []float32, at time.Time) []byte {
	b = append(b, `{"time":"`...)
	b = at.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","model":`...)
	b = appendString(b, m.Name)
	b = append(b, `,"version":`...)
	b = appendString(b, m.Version)
	b = append(b, `,"features":{`...)
	for j := range row {
		if j > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.names[j])
		b = append(b, ':')
		switch c := &row[j]; c.kind {
		case cellNum:
			if c.bad != "" {
				b = append(b, "null"...)
			} else {
				b = appendFloat64(b, c.num)
			}
		case cellStr:
			b = appendString(b, unsafeString(c.str))
		default:
			b = append(b, "null"...)
		}
	}
	b = append(b, `},"outputs":[`...)
	for k, v := range out {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendFloat32(b, v)
	}
	b = append(b, ']')
	if m.Task != TaskRegression {
		b = append(b, `,"label":`...)
		b = appendString(b, m.label(out))
	}
	return append(b, '}')
}

// Run publishes batches until ctx ends, then flushes what is queued (within
// 10 s) and returns.
func (sp *Sampler) Run(ctx context.Context) {
	defer close(sp.done)
	var (
		buf   []byte
		rows  int
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	flush := func(pctx context.Context) {
		if rows == 0 {
			return
		}
		attrs := map[string]string{"format": "jsonl", "rows": strconv.Itoa(rows)}
		if sp.opts.Instance != "" {
			attrs["instance"] = sp.opts.Instance
		}
		cctx, cancel := context.WithTimeout(pctx, 30*time.Second)
		_, err := sp.pub.Publish(cctx, sp.opts.Topic, buf, attrs)
		cancel()
		if err != nil {
			sp.failed.Add(int64(rows))
			sp.opts.Logger.Warn("publishing prediction samples failed; dropped", "rows", rows, "error", err)
		} else {
			sp.published.Add(int64(rows))
		}
		buf, rows = nil, 0
	}
	add := func(line []byte) {
		if rows > 0 {
			buf = append(buf, '\n')
		} else {
			timer.Reset(sp.opts.BatchDelay)
		}
		buf = append(buf, line...)
		rows++
	}
	for {
		select {
		case line := <-sp.q:
			add(line)
			if rows >= sp.opts.BatchRows {
				timer.Stop()
				flush(ctx)
			}
		case <-timer.C:
			flush(ctx)
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			for {
				select {
				case line := <-sp.q:
					add(line)
					if rows >= sp.opts.BatchRows {
						flush(fctx)
					}
					continue
				default:
				}
				break
			}
			flush(fctx)
			return
		}
	}
}

// Done is closed when Run has returned.
func (sp *Sampler) Done() <-chan struct{} { return sp.done }
