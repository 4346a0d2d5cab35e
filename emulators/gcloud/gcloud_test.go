package gcloud

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// skipIfAbsent skips when the SDK or its emulators are not installed.
func skipIfAbsent(t *testing.T, kind Kind) string {
	t.Helper()
	root, err := SDKRoot(context.Background())
	if err == nil {
		_, err = command(root, kind)
	}
	if errors.Is(err, ErrNotInstalled) {
		t.Skipf("gcloud %s emulator absent: %v", kind, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestNotInstalled(t *testing.T) {
	empty := t.TempDir()
	for _, k := range []Kind{PubSub, Firestore} {
		_, err := Start(context.Background(), k, Options{SDKRoot: empty})
		if !errors.Is(err, ErrNotInstalled) {
			t.Fatalf("%s: err = %v, want ErrNotInstalled", k, err)
		}
		if !strings.Contains(err.Error(), "gcloud components install pubsub-emulator cloud-firestore-emulator") {
			t.Errorf("%s: error %q lacks the install hint", k, err)
		}
	}
}

func TestStartStop(t *testing.T) {
	for _, k := range []Kind{PubSub, Firestore} {
		t.Run(k.String(), func(t *testing.T) {
			t.Parallel()
			skipIfAbsent(t, k)
			ctx := context.Background()
			logFile := t.TempDir() + "/emu.log"
			e, err := Start(ctx, k, Options{LogFile: logFile})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Stop(ctx) })
			if got := get(t, "http://"+e.Addr()+"/"); got != "Ok" {
				t.Errorf("GET / = %q, want Ok", got)
			}
			if k == PubSub {
				// A real API call: create a topic over REST.
				req, _ := http.NewRequest(http.MethodPut, "http://"+e.Addr()+"/v1/projects/proj-one/topics/topic-one", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(body), "projects/proj-one/topics/topic-one") {
					t.Errorf("create topic: %d %s", resp.StatusCode, body)
				}
			}
			pid := e.Pid()
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			if !strings.Contains(string(cmdline), "java") || !strings.Contains(string(cmdline), "-XX:TieredStopAtLevel=1") {
				t.Errorf("pid %d is not the JVM with the default flags: %q", pid, cmdline)
			}
			if err := e.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if alive(pid) {
				t.Errorf("process %d still alive after Stop", pid)
			}
			if groupAlive(pid) {
				t.Errorf("process group %d still has members after Stop", pid)
			}
			if _, err := os.Stat(logFile); err != nil {
				t.Errorf("log file: %v", err)
			}
			if _, err := net.DialTimeout("tcp", e.Addr(), time.Second); err == nil {
				t.Errorf("%s still accepts connections after Stop", e.Addr())
			}
		})
	}
}

func TestPortTaken(t *testing.T) {
	skipIfAbsent(t, PubSub)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = StartPubSub(context.Background(), Options{Port: port})
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("err = %v, want ErrPortInUse", err)
	}
	t.Logf("port %d in use detected after %v", port, time.Since(start))
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// A zombie (state Z) has exited.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil
}
