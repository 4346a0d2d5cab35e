package monitoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrDashboard is wrapped by FetchIncidents errors about the dashboard's
// answer (not the network).
var ErrDashboard = errors.New("bad answer from the monitoring dashboard")

// FetchIncidents reads the incidents from a running emulator's JSON API at
// base (http://host:port), newest first; state is "", "open" or "closed".
func FetchIncidents(ctx context.Context, base, state string) ([]Incident, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/") + "/api/incidents")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fetch incidents: dashboard address %q: want http://host:port", base)
	}
	if state != "" {
		u.RawQuery = url.Values{"state": {state}}.Encode()
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch incidents: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch incidents: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch incidents: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch incidents: %w: %s: %s", ErrDashboard, resp.Status, strings.TrimSpace(string(body)))
	}
	var list IncidentList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("fetch incidents: %w: %w", ErrDashboard, err)
	}
	return list.Incidents, nil
}
