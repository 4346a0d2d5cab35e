package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/tflite"
)

type message struct {
	topic string
	data  []byte
	attrs map[string]string
}

// fakePublisher records messages; block makes Publish wait until released.
type fakePublisher struct {
	mu    sync.Mutex
	msgs  []message
	block chan struct{}
	fail  bool
}

func (p *fakePublisher) Publish(ctx context.Context, topic string, data []byte, attrs map[string]string) (string, error) {
	if p.block != nil {
		select {
		case <-p.block:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if p.fail {
		return "", errors.New("pubsub unreachable")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, message{topic, data, attrs})
	return strconv.Itoa(len(p.msgs)), nil
}

func (p *fakePublisher) samples(t *testing.T) []Sample {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Sample
	for _, m := range p.msgs {
		if m.topic != config.TopicPredictions || m.attrs["format"] != "jsonl" {
			t.Errorf("message on %s with %v", m.topic, m.attrs)
		}
		sc := bufio.NewScanner(bytes.NewReader(m.data))
		for sc.Scan() {
			var s Sample
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			out = append(out, s)
		}
	}
	return out
}

func TestSamplerPublishesBatches(t *testing.T) {
	pub := &fakePublisher{}
	sp := NewSampler(pub, SamplerOptions{BatchRows: 3, BatchDelay: 20 * time.Millisecond})
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	s := NewServer(Options{Sampler: sp})
	m, err := LoadModel(ModelConfig{Name: "churn", Version: "v5", TFLite: fcModel(t, 3, tflite.OpSoftmax), Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	s.Install(m)
	ctx, cancel := context.WithCancel(context.Background())
	go sp.Run(ctx)
	var answers []map[string]any
	for i := range 4 {
		body := `{"instances":[{"age":` + strconv.Itoa(30+i) + `,"plan":"pro","income":60.5},{"age":null,"plan":"b\"x","income":1}]}`
		code, ans := call(t, s, "POST", "/v1/models/churn:predict", body)
		if code != 200 {
			t.Fatal(code, ans)
		}
		answers = append(answers, ans)
	}
	cancel()
	<-sp.Done()
	got := pub.samples(t)
	if len(got) != 8 {
		t.Fatalf("%d samples, want 8", len(got))
	}
	if len(pub.msgs) != 3 {
		t.Errorf("%d messages, want 3 (batches of 3, 3, 2)", len(pub.msgs))
	}
	for i, smp := range got {
		ans := answers[i/2]["predictions"].([]any)[i%2].(map[string]any)
		wantFeatures := map[string]any{"age": float64(30 + i/2), "plan": "pro", "income": 60.5}
		if i%2 == 1 {
			wantFeatures = map[string]any{"age": nil, "plan": "b\"x", "income": 1.0}
		}
		if diff := cmp.Diff(wantFeatures, smp.Features); diff != "" {
			t.Errorf("sample %d features (-want +got):\n%s", i, diff)
		}
		var probs []float64
		for _, p := range ans["probabilities"].([]any) {
			f, _ := p.(json.Number).Float64()
			probs = append(probs, f)
		}
		if diff := cmp.Diff(probs, smp.Outputs); diff != "" {
			t.Errorf("sample %d outputs (-answer +sample):\n%s", i, diff)
		}
		if smp.Model != "churn" || smp.Version != "v5" || smp.Label != ans["label"] || smp.Time.IsZero() {
			t.Errorf("sample %d: %+v", i, smp)
		}
	}
	if c := sp.Counters(); c.Published != 8 || c.Dropped != 0 {
		t.Errorf("counters %+v", c)
	}
}

// When publishing stalls, the queue fills, samples are dropped and counted,
// and serving does not wait.
func TestSamplerDropsWhenFull(t *testing.T) {
	pub := &fakePublisher{block: make(chan struct{})}
	sp := NewSampler(pub, SamplerOptions{Queue: 5, BatchRows: 1, Rate: 1e9})
	s := NewServer(Options{Sampler: sp})
	m, err := LoadModel(ModelConfig{Name: "m", Version: "v1", TFLite: fcModel(t, 1, tflite.OpLogistic)})
	if err != nil {
		t.Fatal(err)
	}
	s.Install(m)
	ctx, cancel := context.WithCancel(context.Background())
	go sp.Run(ctx)
	start := time.Now()
	for range 50 {
		if code, ans := call(t, s, "POST", "/v1/models/m:predict", `{"instances":[[1,2,3,4]]}`); code != 200 {
			t.Fatal(code, ans)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("serving waited on logging: %v", d)
	}
	// 50 samples: one held by the blocked publish, 5 queued, the rest dropped.
	c := sp.Counters()
	if c.Dropped < 50-5-1 || c.Dropped > 50-5 {
		t.Errorf("dropped %d, want 44 or 45 (%+v)", c.Dropped, c)
	}
	pts := s.Points(time.Now())
	var dropped float64
	for _, p := range pts {
		if p.Metric == "serving/dropped_samples" {
			dropped = p.Value
		}
	}
	if dropped != float64(c.Dropped) {
		t.Errorf("dropped_samples metric %v, counter %d", dropped, c.Dropped)
	}
	close(pub.block)
	cancel()
	<-sp.Done()
}

func TestSamplerShareAndRate(t *testing.T) {
	sp := NewSampler(&fakePublisher{}, SamplerOptions{Rate: 10, Queue: 1000})
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	m, err := LoadModel(ModelConfig{Name: "m", Version: "v1", TFLite: fcModel(t, 3, tflite.OpSoftmax), Spec: spec, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(Options{Sampler: sp})
	s.Install(m)
	for range 100 {
		req := httptest.NewRequest("POST", "/v1/models/m:predict", strings.NewReader(`{"instances":[[1,"pro",2]]}`))
		s.ServeHTTP(httptest.NewRecorder(), req)
	}
	// A full bucket of 10 tokens, plus what refills during the loop.
	if q := len(sp.q); q < 10 || q > 20 {
		t.Errorf("%d samples queued at rate 10/s, want about 10", q)
	}
	none := NewSampler(&fakePublisher{}, SamplerOptions{Share: 1e-9})
	s2 := NewServer(Options{Sampler: none})
	s2.Install(m)
	for range 100 {
		req := httptest.NewRequest("POST", "/v1/models/m:predict", strings.NewReader(`{"instances":[[1,"pro",2]]}`))
		s2.ServeHTTP(httptest.NewRecorder(), req)
	}
	if q := len(none.q); q != 0 {
		t.Errorf("share 1e-9: %d samples queued", q)
	}
}
