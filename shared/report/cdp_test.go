package report

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// cdp is a minimal Chrome DevTools Protocol client over one page target.
type cdp struct {
	ws *websocket.Conn
	id int
}

func (c *cdp) call(method string, params any, result any) error {
	c.id++
	if err := websocket.JSON.Send(c.ws, map[string]any{"id": c.id, "method": method, "params": params}); err != nil {
		return fmt.Errorf("send %s: %w", method, err)
	}
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := websocket.JSON.Receive(c.ws, &msg); err != nil {
			return fmt.Errorf("receive %s: %w", method, err)
		}
		if msg.ID != c.id {
			continue // an event
		}
		if msg.Error != nil {
			return fmt.Errorf("%s: %s", method, msg.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(msg.Result, result)
		}
		return nil
	}
}

func (c *cdp) eval(t *testing.T, expr string) string {
	t.Helper()
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails any `json:"exceptionDetails"`
	}
	if err := c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r); err != nil {
		t.Fatal(err)
	}
	if r.ExceptionDetails != nil {
		t.Fatalf("%s: %v", expr, r.ExceptionDetails)
	}
	return fmt.Sprint(r.Result.Value)
}

func (c *cdp) key(t *testing.T, key string, code int) {
	t.Helper()
	for _, typ := range []string{"keyDown", "keyUp"} {
		if err := c.call("Input.dispatchKeyEvent", map[string]any{"type": typ, "key": key, "code": key, "windowsVirtualKeyCode": code}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

var devtoolsLine = regexp.MustCompile(`DevTools listening on ws://([0-9.:\[\]a-z]+)/`)

// TestSlidesKeyboard drives the deck with arrow keys through the DevTools
// protocol in headless Chromium.
func TestSlidesKeyboard(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "slides.html")
	writeFile(t, p, render(t, fixture(t), Options{Slides: true}))

	profile := t.TempDir() // made before the browser, so removed after it is killed
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--user-data-dir="+profile, "--remote-debugging-port=0",
		"--remote-allow-origins=*", "file://"+p)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers die with it
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group of the browser started above
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	var host string
	select {
	case host = <-addr:
	case <-ctx.Done():
		t.Fatal("chromium did not announce its DevTools address")
	}
	var wsURL string
	for deadline := time.Now().Add(20 * time.Second); wsURL == "" && time.Now().Before(deadline); {
		wsURL = pageTarget(host)
		if wsURL == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if wsURL == "" {
		t.Fatal("no page target")
	}
	ws, err := websocket.Dial(wsURL, "", "http://"+host+"/")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	c := &cdp{ws: ws}
	active := `document.querySelector(".slide.active") ? document.querySelector(".slide.active").id : "none"`
	loaded := `location.protocol === "file:" && document.readyState === "complete" && document.body.classList.contains("deck")`
	for deadline := time.Now().Add(20 * time.Second); c.eval(t, loaded) != "true"; {
		if time.Now().After(deadline) {
			t.Fatal("the deck did not finish loading")
		}
		time.Sleep(50 * time.Millisecond)
	}
	steps := []struct {
		key  string
		code int
		want string
	}{
		{"", 0, "s1"},
		{"ArrowRight", 39, "s2"},
		{"ArrowRight", 39, "s3"},
		{"ArrowLeft", 37, "s2"},
		{"End", 35, "s7"},
		{"ArrowRight", 39, "s7"}, // stays on the last slide
		{"Home", 36, "s1"},
		{"ArrowLeft", 37, "s1"},
		{"PageDown", 34, "s2"},
	}
	var got []string
	for _, s := range steps {
		if s.key != "" {
			c.key(t, s.key, s.code)
		}
		got = append(got, c.eval(t, active))
	}
	var want []string
	for _, s := range steps {
		want = append(want, s.want)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("active slide after each key: got %v, want %v", got, want)
	}
	if pager := c.eval(t, `document.getElementById("pager").textContent`); pager != "2 / 7" {
		t.Errorf("pager %q, want 2 / 7", pager)
	}
}

// pageTarget returns the DevTools WebSocket address of the first page.
func pageTarget(host string) string {
	resp, err := http.Get("http://" + host + "/json/list")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var targets []struct {
		Type string `json:"type"`
		WS   string `json:"webSocketDebuggerUrl"`
	}
	if json.NewDecoder(resp.Body).Decode(&targets) != nil {
		return ""
	}
	for _, tg := range targets {
		if tg.Type == "page" && tg.WS != "" {
			return tg.WS
		}
	}
	return ""
}
