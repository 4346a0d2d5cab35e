package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// probeTimeout bounds how long a command waits for one service to
// answer before it says which one did not.
var probeTimeout = 5 * time.Second

// probeEmulators asks each local service the clients are pointed at
// (FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST, STORAGE_EMULATOR_HOST)
// whether it answers, at most probeTimeout each, so that a command fails in
// seconds naming the service ("firestore at 127.0.0.1:8086 did not answer
// ...") instead of hanging in the client's retries. Services in a real
// project are not probed: their clients have their own deadlines.
func probeEmulators(ctx context.Context) error {
	for _, p := range []struct{ name, env, path string }{
		{"firestore", "FIRESTORE_EMULATOR_HOST", "/"},
		{"pubsub", "PUBSUB_EMULATOR_HOST", "/"},
		{"gcs", "STORAGE_EMULATOR_HOST", "/storage/v1/b?project=probe"},
	} {
		host := os.Getenv(p.env)
		if host == "" {
			continue
		}
		url := host
		if !strings.Contains(url, "://") {
			url = "http://" + url
		}
		if err := probe(ctx, url+p.path); err != nil {
			return fmt.Errorf("%s at %s did not answer within %s (%s): %w; is the local stack running? (mega local status)",
				p.name, strings.TrimPrefix(strings.TrimPrefix(host, "http://"), "https://"), probeTimeout, p.env, err)
		}
	}
	return nil
}

// probe succeeds when url gives any HTTP answer within probeTimeout.
func probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	return resp.Body.Close()
}
