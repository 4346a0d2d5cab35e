package topic_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/shared/topic"
)

const project = "p"

// newPublisher starts an in-process pstest server (with the given reactors)
// and returns a Publisher talking to it, with the topic "t" created.
func newPublisher(t *testing.T, opts ...pstest.ServerReactorOption) (*topic.Publisher, *pstest.Server) {
	t.Helper()
	srv := pstest.NewServer(opts...)
	t.Cleanup(func() { srv.Close() })
	p, err := topic.New(context.Background(), project, option.WithEndpoint(srv.Addr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Ensure(context.Background(), "t", "t"); err != nil { // twice: AlreadyExists is fine
		t.Fatal(err)
	}
	return p, srv
}

type sent struct {
	Topic string
	Data  string
	Attrs map[string]string
}

func messages(srv *pstest.Server) []sent {
	var out []sent
	for _, m := range srv.Messages() {
		out = append(out, sent{Data: string(m.Data), Attrs: m.Attributes})
	}
	return out
}

func TestPublish(t *testing.T) {
	p, srv := newPublisher(t)
	ctx := context.Background()
	id, err := p.Publish(ctx, "t", []byte("raw"), map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if m := srv.Message(id); m == nil || string(m.Data) != "raw" {
		t.Errorf("Publish returned id %q, which the server does not hold as %q: %+v", id, "raw", m)
	}
	if _, err := p.PublishJSON(ctx, "t", map[string]int{"a": 1}, nil); err != nil {
		t.Fatal(err)
	}
	want := []sent{{Data: "raw", Attrs: map[string]string{"k": "v"}}, {Data: `{"a":1}`}}
	if diff := cmp.Diff(want, messages(srv)); diff != "" {
		t.Errorf("messages on the server (-want +got):\n%s", diff)
	}
}

func TestPublishErrors(t *testing.T) {
	p, srv := newPublisher(t)
	ctx := context.Background()
	if _, err := p.Publish(ctx, "missing", []byte("x"), nil); status.Code(errors.Unwrap(err)) != codes.NotFound {
		t.Errorf("publish to a missing topic: got %v, want a wrapped NotFound", err)
	}
	if _, err := p.PublishJSON(ctx, "t", func() {}, nil); err == nil {
		t.Error("PublishJSON of a func: no error")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages on the server after failed publishes, want 0", n)
	}
}

// Publish returns only once the server has the message, so messages
// published one after the other by one caller arrive in that order.
func TestPublishOrder(t *testing.T) {
	p, srv := newPublisher(t)
	var want []sent
	for _, d := range []string{"1", "2", "3", "4", "5", "6", "7", "8"} {
		if _, err := p.Publish(context.Background(), "t", []byte(d), nil); err != nil {
			t.Fatal(err)
		}
		want = append(want, sent{Data: d})
	}
	if diff := cmp.Diff(want, messages(srv)); diff != "" {
		t.Errorf("messages on the server (-want +got):\n%s", diff)
	}
}

// flaky fails Publish calls with Unavailable (which the client retries)
// until it is released, and tells the test about each failed attempt.
type flaky struct {
	mu       sync.Mutex
	released bool
	attempts chan struct{}
}

func (f *flaky) React(any) (bool, any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.released {
		return false, nil, nil
	}
	select {
	case f.attempts <- struct{}{}:
	default:
	}
	return true, nil, status.Error(codes.Unavailable, "injected: try again")
}

func (f *flaky) release() {
	f.mu.Lock()
	f.released = true
	f.mu.Unlock()
}

// The duplicate fixed by 259f749: the caller's context ends while the client
// is still retrying a publish. If Publish returned then (an error), the
// caller would retry the event and publish again, while the client still
// delivers the first message: two messages. Publish must instead wait for the
// client's own verdict, so each message is either reported sent or never
// sent.
func TestPublishWaitsForClientVerdictAfterCancel(t *testing.T) {
	f := &flaky{attempts: make(chan struct{})}
	p, srv := newPublisher(t, pstest.ServerReactorOption{FuncName: "Publish", Reactor: f})
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		id  string
		err error
	}
	done := make(chan result, 1)
	go func() {
		id, err := p.Publish(ctx, "t", []byte("once"), nil)
		done <- result{id, err}
	}()
	<-f.attempts // the first attempt failed; the client retries in the background
	cancel()
	<-f.attempts // a retry after the cancel: the client is still trying
	f.release()
	r := <-done
	if r.err != nil {
		// What the caller does with an error: retry the event, publish again.
		if _, err := p.Publish(context.Background(), "t", []byte("once"), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Close stops the publisher, which waits for every outstanding publish.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]sent{{Data: "once"}}, messages(srv)); diff != "" {
		t.Errorf("first Publish returned (%q, %v); messages on the server (-want +got):\n%s", r.id, r.err, diff)
	}
}
