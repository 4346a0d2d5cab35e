package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// silent returns the address of a listener that accepts connections and
// never answers, closed when the test ends.
func silent(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(done)
				return
			}
			conns = append(conns, c) // held open, never read
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// refused returns an address where nothing listens.
func refused(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestServiceDownFailsNamingIt: a command whose service does not answer
// (nothing listens, or it accepts and stays silent) exits 1 within the
// probe deadline, naming the service and its address, instead of hanging
// in the client's retries.
func TestServiceDownFailsNamingIt(t *testing.T) {
	isolate(t)
	old := probeTimeout
	probeTimeout = 300 * time.Millisecond // the deadline under test; the product's is 5 s
	t.Cleanup(func() { probeTimeout = old })
	ok := silent(t) // stands for a service that is fine for this test: never reached
	for _, tc := range []struct {
		name      string
		env       map[string]string
		args      []string
		wantInErr string
	}{
		{"firestore refused", map[string]string{"FIRESTORE_EMULATOR_HOST": "{refused}", "PUBSUB_EMULATOR_HOST": ok},
			[]string{"runs"}, "firestore at {refused} did not answer"},
		{"firestore silent", map[string]string{"FIRESTORE_EMULATOR_HOST": "{silent}", "PUBSUB_EMULATOR_HOST": ok},
			[]string{"models", "--json"}, "firestore at {silent} did not answer within 300ms"},
		{"pubsub silent", map[string]string{"FIRESTORE_EMULATOR_HOST": "{up}", "PUBSUB_EMULATOR_HOST": "{silent}"},
			[]string{"trigger", "train", "--run", "r"}, "pubsub at {silent} did not answer within 300ms"},
		{"gcs refused", map[string]string{"FIRESTORE_EMULATOR_HOST": "{up}", "PUBSUB_EMULATOR_HOST": "{up}", "STORAGE_EMULATOR_HOST": "http://{refused}"},
			[]string{"drift"}, "gcs at {refused} did not answer"},
		{"monitoring silent", map[string]string{"MEGA_MONITORING_DASHBOARD": "http://{silent}/"},
			[]string{"alerts"}, "monitoring at http://{silent}/ did not answer within 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := strings.NewReplacer("{refused}", refused(t), "{silent}", silent(t), "{up}", answering(t))
			for k, v := range tc.env {
				t.Setenv(k, r.Replace(v))
			}
			got := mega(t, "", tc.args...)
			want := r.Replace(tc.wantInErr)
			if got.Code != 1 || !strings.Contains(got.Stderr, want) || strings.Count(got.Stderr, "\n") != 1 {
				t.Errorf("mega %s: exit %d, stderr %q; want exit 1 and one line with %q", strings.Join(tc.args, " "), got.Code, got.Stderr, want)
			}
		})
	}
}

// answering returns the address of an HTTP server that answers "Ok", as the
// emulators do on "/".
func answering(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "Ok") }))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
