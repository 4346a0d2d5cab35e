package step

import (
	"context"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/option"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/ledger"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/topic"
)

// LedgerLease bounds how long a claimed event stays busy when its worker dies
// mid-way; it exceeds the functions' timeout (540 s in Terraform).
const LedgerLease = 10 * time.Minute

// Env holds the clients every function needs. Build it with NewEnv, or get
// the process-wide one, built lazily on first use, with Default.
type Env struct {
	Config config.Config
	Blob   *blob.Store
	Topics *topic.Publisher
	Docs   *firestore.Client
	Runs   *runs.Store
	Ledger *ledger.Ledger
	// Lookup answers the settings the work reads when it runs (the training
	// configuration); nil is os.LookupEnv. A batch run (`mega step`) passes
	// its flags here instead of changing the process environment.
	Lookup func(string) (string, bool)
}

// TrainingConfig reads the training configuration from Lookup.
func (e *Env) TrainingConfig() (config.Training, error) {
	if e.Lookup == nil {
		return config.TrainingFromEnv()
	}
	return config.TrainingFromLookup(e.Lookup)
}

// ClientOptions are passed to the clients NewEnv builds, one list per
// service: tests point them at in-process fakes (pstest, fakestorage), and a
// caller may set endpoints or credentials explicitly instead of through the
// environment.
type ClientOptions struct {
	Storage   []option.ClientOption
	PubSub    []option.ClientOption
	Firestore []option.ClientOption
}

// NewEnv builds the clients from the configuration and the optional client
// options (their lists are concatenated). Nothing here touches the network
// until the first call.
func NewEnv(ctx context.Context, cfg config.Config, opts ...ClientOptions) (*Env, error) {
	var o ClientOptions
	for _, x := range opts {
		o.Storage = append(o.Storage, x.Storage...)
		o.PubSub = append(o.PubSub, x.PubSub...)
		o.Firestore = append(o.Firestore, x.Firestore...)
	}
	b, err := blob.New(ctx, o.Storage...)
	if err != nil {
		return nil, err
	}
	t, err := topic.New(ctx, cfg.Project, o.PubSub...)
	if err != nil {
		b.Close()
		return nil, err
	}
	d, err := firestore.NewClient(ctx, cfg.Project, o.Firestore...)
	if err != nil {
		b.Close()
		t.Close()
		return nil, fmt.Errorf("step: firestore client: %w", err)
	}
	return &Env{Config: cfg, Blob: b, Topics: t, Docs: d, Runs: runs.New(d), Ledger: ledger.New(d, LedgerLease)}, nil
}

// Close releases the clients.
func (e *Env) Close() error {
	e.Topics.Close()
	e.Docs.Close()
	return e.Blob.Close()
}

var (
	defaultMu  sync.Mutex
	defaultEnv *Env
)

// Default returns the process-wide Env, built on first use from the
// environment (never in init). A failed build is not cached: the next call
// tries again.
func Default(ctx context.Context) (*Env, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultEnv != nil {
		return defaultEnv, nil
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	// The clients outlive the event that built them.
	env, err := NewEnv(context.WithoutCancel(ctx), cfg)
	if err != nil {
		return nil, err
	}
	defaultEnv = env
	return env, nil
}
