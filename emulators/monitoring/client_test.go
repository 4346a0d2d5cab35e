package monitoring

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFetchIncidents(t *testing.T) {
	env, _ := dashboardEnv(t)
	ctx := context.Background()
	all, err := FetchIncidents(ctx, env.httpURL, "")
	if err != nil {
		t.Fatal(err)
	}
	open, err := FetchIncidents(ctx, env.httpURL+"/", StateOpen)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(env.srv.Incidents(""), all); diff != "" {
		t.Errorf("all incidents (-server +fetched):\n%s", diff)
	}
	if len(open) != 1 || open[0].State != StateOpen {
		t.Errorf("open = %+v", open)
	}
	for _, base := range []string{"", "127.0.0.1:1", "ftp://x"} {
		if _, err := FetchIncidents(ctx, base, ""); err == nil {
			t.Errorf("FetchIncidents(%q) succeeded", base)
		}
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>")) }))
	defer bad.Close()
	if _, err := FetchIncidents(ctx, bad.URL, ""); !errors.Is(err, ErrDashboard) {
		t.Errorf("non-JSON answer: %v, want ErrDashboard", err)
	}
	if _, err := FetchIncidents(ctx, env.httpURL, "maybe"); !errors.Is(err, ErrDashboard) {
		t.Errorf("bad state: %v, want ErrDashboard (400)", err)
	}
}
