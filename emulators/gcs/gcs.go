package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"
)

// Options configure the server. The zero value serves an empty in-memory
// store on a free port without notifications.
type Options struct {
	Host    string   // address to bind [127.0.0.1]
	Port    int      // 0: a free port
	Buckets []string // created at start
	// Versioned lists buckets (of Buckets) created with object versioning,
	// which keeps older generations readable by generation, as Terraform
	// sets for the raw and models buckets.
	Versioned   []string
	Project     string // project of NotifyTopic
	NotifyTopic string // topic id for object-finalize notifications; "": none
	StorageRoot string // directory to keep objects in; "": memory
	Log         io.Writer
}

// Server is a running fake Cloud Storage.
type Server struct {
	fake *fakestorage.Server
	lis  net.Listener
	srv  *http.Server
	addr string
	done chan struct{}
}

// Start listens and serves until Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.NotifyTopic != "" {
		if opts.Project == "" {
			return nil, errors.New("start gcs: NotifyTopic needs Project")
		}
		if os.Getenv("PUBSUB_EMULATOR_HOST") == "" {
			return nil, errors.New("start gcs: notifications need PUBSUB_EMULATOR_HOST in the environment")
		}
	}
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	if err != nil {
		return nil, fmt.Errorf("start gcs: %w", err)
	}
	addr := lis.Addr().String()
	fo := fakestorage.Options{
		Scheme:      "http",
		Host:        opts.Host,
		NoListener:  true,
		PublicHost:  addr,
		ExternalURL: "http://" + addr,
		StorageRoot: opts.StorageRoot,
		Writer:      opts.Log,
	}
	if opts.NotifyTopic != "" {
		fo.EventOptions = fakestorage.EventManagerOptions{
			ProjectID: opts.Project,
			TopicName: opts.NotifyTopic,
			NotifyOn:  fakestorage.EventNotificationOptions{Finalize: true},
		}
	}
	fake, err := fakestorage.NewServerWithOptions(fo)
	if err != nil {
		lis.Close()
		return nil, fmt.Errorf("start gcs: %w", err)
	}
	for _, b := range opts.Buckets {
		fake.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b, VersioningEnabled: slices.Contains(opts.Versioned, b)})
	}
	s := &Server{fake: fake, lis: lis, addr: addr, done: make(chan struct{}),
		srv: &http.Server{Handler: fake.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(lis)
	}()
	return s, nil
}

// Addr is host:port, the value for STORAGE_EMULATOR_HOST.
func (s *Server) Addr() string { return s.addr }

// URL is http://host:port.
func (s *Server) URL() string { return "http://" + s.addr }

// CreateBucket creates a bucket if it does not exist.
func (s *Server) CreateBucket(name string) {
	s.fake.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: name})
}

// Client returns a storage client for this server, independent of
// STORAGE_EMULATOR_HOST.
func (s *Server) Client(ctx context.Context) (*storage.Client, error) {
	c, err := storage.NewClient(ctx,
		option.WithEndpoint(s.URL()+"/storage/v1/"),
		option.WithoutAuthentication(),
		storage.WithJSONReads())
	if err != nil {
		return nil, fmt.Errorf("gcs client: %w", err)
	}
	return c, nil
}

// Stop closes the listener and open connections.
func (s *Server) Stop(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	s.fake.Stop()
	if err != nil {
		return fmt.Errorf("stop gcs: %w", err)
	}
	return nil
}
