package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/shared/config"
)

// Options configure a Router.
type Options struct {
	Project      string // the project of every topic and subscription
	FunctionsURL string // base URL of the functions host, e.g. http://127.0.0.1:8090
	// Buckets maps a trigger's bucket role ("raw", "models") to the bucket's
	// name. Roles missing here use config.FromEnv's names for Project.
	Buckets         map[string]string
	Triggers        []config.Trigger // [config.Triggers]
	StorageTopic    string           // [config.TopicStorageEvents]
	DeadLetterTopic string           // [config.TopicDeadLetter]
	MaxAttempts     int              // attempts before dead-lettering [5]
	MinBackoff      time.Duration    // delay after the first failure [1s]
	MaxBackoff      time.Duration    // longest delay [60s]
	AttemptTimeout  time.Duration    // one HTTP delivery [10m]
	Concurrency     int              // deliveries in flight per trigger [8]
	HTTPClient      *http.Client
	Logger          *slog.Logger
}

// Router delivers events to functions until its context ends.
type Router struct {
	ps   *pubsub.Client
	opts Options
	log  *slog.Logger
	dlq  *pubsub.Publisher

	mu    sync.Mutex
	ready bool
}

// New checks the options and fills in defaults. The client must belong to
// opts.Project.
func New(ps *pubsub.Client, opts Options) (*Router, error) {
	if ps == nil {
		return nil, errors.New("router: nil pubsub client")
	}
	if opts.Project == "" {
		return nil, errors.New("router: no project")
	}
	if !strings.HasPrefix(opts.FunctionsURL, "http://") && !strings.HasPrefix(opts.FunctionsURL, "https://") {
		return nil, fmt.Errorf("router: functions url %q is not http(s)", opts.FunctionsURL)
	}
	opts.FunctionsURL = strings.TrimRight(opts.FunctionsURL, "/")
	if opts.Triggers == nil {
		opts.Triggers = config.Triggers
	}
	if opts.StorageTopic == "" {
		opts.StorageTopic = config.TopicStorageEvents
	}
	if opts.DeadLetterTopic == "" {
		opts.DeadLetterTopic = config.TopicDeadLetter
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 60 * time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = opts.MinBackoff
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 10 * time.Minute
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	buckets := map[string]string{}
	for k, v := range opts.Buckets {
		buckets[k] = v
	}
	prefix := opts.Project
	for _, role := range []string{"raw", "models", "artifacts"} {
		if buckets[role] == "" {
			buckets[role] = prefix + "-" + role
		}
	}
	opts.Buckets = buckets
	for _, t := range opts.Triggers {
		if t.Function == "" || (t.Topic == "") == (t.Bucket == "") {
			return nil, fmt.Errorf("router: trigger %+v: want a function and exactly one of topic or bucket", t)
		}
	}
	return &Router{ps: ps, opts: opts, log: opts.Logger, dlq: ps.Publisher(opts.DeadLetterTopic)}, nil
}

// SubscriptionID is the id of the router's subscription for a trigger.
func SubscriptionID(t config.Trigger) string {
	if t.Topic != "" {
		return "eventarc-" + strings.ToLower(t.Function) + "-" + t.Topic
	}
	return "eventarc-" + strings.ToLower(t.Function) + "-" + t.Bucket + "-finalized"
}

func (r *Router) topicName(id string) string {
	return "projects/" + r.opts.Project + "/topics/" + id
}

func (r *Router) subName(id string) string {
	return "projects/" + r.opts.Project + "/subscriptions/" + id
}

// Setup creates, if missing, the topics the triggers read, the dead-letter
// topic and one subscription per trigger. Run calls it.
func (r *Router) Setup(ctx context.Context) error {
	topics := []string{r.opts.StorageTopic, r.opts.DeadLetterTopic}
	for _, t := range r.opts.Triggers {
		if t.Topic != "" {
			topics = append(topics, t.Topic)
		}
	}
	if err := parallel(len(topics), func(i int) error {
		_, err := r.ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: r.topicName(topics[i])})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("router setup: create topic %s: %w", topics[i], err)
		}
		return nil
	}); err != nil {
		return err
	}
	return parallel(len(r.opts.Triggers), func(i int) error {
		t := r.opts.Triggers[i]
		topic := t.Topic
		if topic == "" {
			topic = r.opts.StorageTopic
		}
		_, err := r.ps.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name:               r.subName(SubscriptionID(t)),
			Topic:              r.topicName(topic),
			AckDeadlineSeconds: 60,
		})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("router setup: create subscription %s: %w", SubscriptionID(t), err)
		}
		return nil
	})
}

// parallel runs f(0..n-1) concurrently and joins their errors.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Run sets up the subscriptions and delivers events until ctx ends. It
// returns nil when ctx ends, or the first subscription's fatal error.
func (r *Router) Run(ctx context.Context) error {
	if err := r.Setup(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(r.opts.Triggers))
	for _, t := range r.opts.Triggers {
		sub := r.ps.Subscriber(r.subName(SubscriptionID(t)))
		sub.ReceiveSettings.MaxOutstandingMessages = r.opts.Concurrency
		sub.ReceiveSettings.NumGoroutines = 1
		go func() {
			err := sub.Receive(ctx, func(mctx context.Context, m *pubsub.Message) { r.handle(mctx, t, m) })
			if err != nil && ctx.Err() == nil {
				err = fmt.Errorf("router: receive %s: %w", SubscriptionID(t), err)
				cancel()
			} else {
				err = nil
			}
			errs <- err
		}()
	}
	r.mu.Lock()
	r.ready = true
	r.mu.Unlock()
	r.log.InfoContext(ctx, "router running", "project", r.opts.Project, "functions", r.opts.FunctionsURL,
		"triggers", len(r.opts.Triggers), "max_attempts", r.opts.MaxAttempts)
	var first error
	for range r.opts.Triggers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	r.mu.Lock()
	r.ready = false
	r.mu.Unlock()
	return first
}

// Ready reports whether Run has set up its subscriptions and is receiving.
func (r *Router) Ready() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ready
}

// handle delivers one message for one trigger, with retries.
func (r *Router) handle(ctx context.Context, t config.Trigger, m *pubsub.Message) {
	req, skip, err := r.build(t, m)
	if err != nil {
		// A notification that cannot be turned into an event never will be.
		r.log.ErrorContext(ctx, "router: undeliverable message", "trigger", SubscriptionID(t),
			"message_id", m.ID, "error", err.Error())
		r.deadLetter(ctx, t, m, 0, err)
		return
	}
	if skip {
		m.Ack()
		return
	}
	var last error
	for attempt := 1; ; attempt++ {
		code, dur, err := r.post(ctx, t, req)
		log := r.log.With("function", t.Function, "trigger", SubscriptionID(t), "event_id", req.id,
			"event_type", req.ceType, "attempt", attempt, "status", code, "duration_ms", dur.Milliseconds())
		if req.subject != "" {
			log = log.With("subject", req.subject)
		}
		if req.runID != "" {
			log = log.With("run_id", req.runID)
		}
		if err == nil {
			log.InfoContext(ctx, "event delivered")
			m.Ack()
			return
		}
		last = err
		if ctx.Err() != nil {
			// Shutting down: leave the message for the next router.
			log.WarnContext(ctx, "delivery interrupted", "error", err.Error())
			m.Nack()
			return
		}
		if attempt >= r.opts.MaxAttempts {
			log.ErrorContext(ctx, "event dead-lettered", "error", err.Error(), "dead_letter_topic", r.opts.DeadLetterTopic)
			r.deadLetter(ctx, t, m, attempt, last)
			return
		}
		wait := r.backoff(attempt)
		log.WarnContext(ctx, "delivery failed, will retry", "error", err.Error(), "retry_in_ms", wait.Milliseconds())
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			m.Nack()
			return
		case <-timer.C:
		}
	}
}

// backoff is the delay after the attempt-th failure: MinBackoff doubled
// attempt-1 times, at most MaxBackoff, plus up to 25% jitter.
func (r *Router) backoff(attempt int) time.Duration {
	d := r.opts.MinBackoff
	for i := 1; i < attempt && d < r.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.opts.MaxBackoff)
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}

// post sends one attempt; a non-2xx answer is an error.
func (r *Router) post(ctx context.Context, t config.Trigger, ev *request) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.AttemptTimeout)
	defer cancel()
	url := r.opts.FunctionsURL + "/" + t.Function
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(ev.body))
	if err != nil {
		return 0, 0, fmt.Errorf("post %s: %w", url, err)
	}
	ev.setHeaders(hreq.Header)
	start := time.Now()
	resp, err := r.opts.HTTPClient.Do(hreq)
	dur := time.Since(start)
	if err != nil {
		return 0, dur, fmt.Errorf("post %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, dur, fmt.Errorf("post %s: HTTP %d: %s", url, resp.StatusCode,
			strings.Join(strings.Fields(string(body)), " "))
	}
	return resp.StatusCode, dur, nil
}

// deadLetter publishes the message to the dead-letter topic and acks it;
// if publishing fails, it nacks so that the message comes back.
func (r *Router) deadLetter(ctx context.Context, t config.Trigger, m *pubsub.Message, attempts int, cause error) {
	attrs := make(map[string]string, len(m.Attributes)+8)
	for k, v := range m.Attributes {
		attrs[k] = v
	}
	topic := t.Topic
	if topic == "" {
		topic = r.opts.StorageTopic
	}
	errText := cause.Error()
	if len(errText) > 1024 {
		errText = errText[:1024]
	}
	attrs["deadLetterFunction"] = t.Function
	attrs["deadLetterTopic"] = topic
	attrs["deadLetterSubscription"] = r.subName(SubscriptionID(t))
	attrs["deadLetterAttempts"] = strconv.Itoa(attempts)
	attrs["deadLetterError"] = errText
	attrs["deadLetterMessageId"] = m.ID
	attrs["CloudPubSubDeadLetterSourceDeliveryCount"] = strconv.Itoa(attempts)
	attrs["CloudPubSubDeadLetterSourceSubscription"] = SubscriptionID(t)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := r.dlq.Publish(pctx, &pubsub.Message{Data: m.Data, Attributes: attrs}).Get(pctx); err != nil {
		r.log.ErrorContext(ctx, "router: dead-letter publish failed", "trigger", SubscriptionID(t),
			"message_id", m.ID, "error", err.Error())
		m.Nack()
		return
	}
	m.Ack()
}

// Stop flushes the dead-letter publisher. Call it after Run returns.
func (r *Router) Stop() { r.dlq.Stop() }
