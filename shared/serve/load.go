package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var interruptSignal = syscall.SIGTERM

// LoadOptions configure a load test against a running server.
type LoadOptions struct {
	URL         string // the predict URL
	Body        []byte // the request body, sent as is
	Concurrency int    // connections sending requests (default 8)
	Requests    int    // total requests (0: until Duration)
	Duration    time.Duration
	Warmup      int // requests sent first and not measured (default 200)
}

// LoadResult is what a load test measured.
type LoadResult struct {
	Requests    int     `json:"requests"`
	Failed      int     `json:"failed"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"requests_per_second"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	Maxms       float64 `json:"max_ms"`
	Concurrency int     `json:"concurrency"`
	FirstError  string  `json:"first_error,omitempty"`
}

// Load sends the same request over Concurrency keep-alive connections and
// measures throughput and latency (client side, end to end).
func Load(ctx context.Context, o LoadOptions) (LoadResult, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Requests <= 0 && o.Duration <= 0 {
		return LoadResult{}, errors.New("serve: load: give a request count or a duration")
	}
	if o.Warmup <= 0 {
		o.Warmup = 200
	}
	tr := &http.Transport{MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency,
		DisableCompression: true, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	send := func() (bool, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(o.Body))
		if err != nil {
			return false, err.Error()
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return false, err.Error()
		}
		b, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Sprintf("status %d (%d bytes)", resp.StatusCode, b)
		}
		return true, ""
	}
	for range o.Warmup {
		if ok, msg := send(); !ok {
			return LoadResult{}, fmt.Errorf("serve: load: warm-up request failed: %s", msg)
		}
	}
	var (
		mu      sync.Mutex
		lat     []time.Duration
		failed  int
		first   string
		wg      sync.WaitGroup
		counter = make(chan struct{}, 1024)
	)
	dctx := ctx
	if o.Duration > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	go func() {
		defer close(counter)
		for i := 0; o.Requests <= 0 || i < o.Requests; i++ {
			select {
			case counter <- struct{}{}:
			case <-dctx.Done():
				return
			}
		}
	}()
	start := time.Now()
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<14)
			lf, lfirst := 0, ""
			for range counter {
				t0 := time.Now()
				ok, msg := send()
				d := time.Since(t0)
				if !ok {
					if dctx.Err() != nil {
						break
					}
					lf++
					if lfirst == "" {
						lfirst = msg
					}
					continue
				}
				local = append(local, d)
			}
			mu.Lock()
			lat = append(lat, local...)
			failed += lf
			if first == "" {
				first = lfirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lat)
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(p * float64(len(lat)-1))
		return float64(lat[i]) / 1e6
	}
	r := LoadResult{Requests: len(lat) + failed, Failed: failed, Seconds: el.Seconds(), Concurrency: o.Concurrency,
		P50ms: q(0.50), P90ms: q(0.90), P99ms: q(0.99), Maxms: q(1), FirstError: first}
	r.RPS = float64(len(lat)) / el.Seconds()
	return r, nil
}

// SyntheticBody builds a TF Serving predict body of n instances for a model
// from its KServe v2 metadata (GET /v2/models/{name}): numbers drawn from a
// standard normal scaled by 10, categories from the vocabulary the metadata
// lists.
func SyntheticBody(meta V2Metadata, n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	var b []byte
	b = append(b, `{"instances":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		for j, in := range meta.Inputs {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, in.Name)
			b = append(b, ':')
			if vals := meta.Parameters.Categories[in.Name]; in.Datatype == "BYTES" && len(vals) > 0 {
				b = appendString(b, vals[r.IntN(len(vals))])
				continue
			}
			b = strconv.AppendFloat(b, 10*r.NormFloat64(), 'g', 6, 64)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// V2Metadata is the KServe v2 model metadata answer.
type V2Metadata struct {
	Name       string         `json:"name"`
	Versions   []string       `json:"versions"`
	Platform   string         `json:"platform"`
	Inputs     []v2MetaTensor `json:"inputs"`
	Outputs    []v2MetaTensor `json:"outputs"`
	Parameters struct {
		Task         string              `json:"task"`
		Classes      []string            `json:"classes"`
		SHA256       string              `json:"sha256"`
		ModelVersion string              `json:"model_version"`
		Categories   map[string][]string `json:"categories,omitempty"`
	} `json:"parameters"`
}

// ColdStart starts a server process (argv), then sends body to url every
// millisecond until one answer is 200, and returns the time from the
// process start to that answer. The process is stopped with SIGTERM
// (Interrupt on platforms without it) afterwards.
func ColdStart(ctx context.Context, argv []string, env []string, url string, body []byte) (time.Duration, error) {
	if len(argv) == 0 {
		return 0, errors.New("serve: cold start: no command")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("serve: cold start: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(interruptSignal)
		_ = cmd.Wait()
	}()
	deadline := start.Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("serve: cold start: no successful answer within 30 s; server said: %s", strings.TrimSpace(stderr.String()))
}
