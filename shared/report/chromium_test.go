package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// chromium returns Debian's chromium (or $MEGA_CHROMIUM), or skips.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MEGA_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (Debian: apt-get install -y chromium); set MEGA_CHROMIUM to use another build")
	return ""
}

// consoleLine is how Chromium logs a page's console messages and uncaught
// exceptions with --enable-logging=stderr.
var consoleLine = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

// headless loads url in headless Chromium with a fresh profile and returns
// the DOM after scripts ran and the page's console messages. extra adds
// flags (e.g. a screenshot).
func headless(t *testing.T, bin, url string, extra ...string) (dom string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	args = append(args, extra...)
	if len(extra) == 0 {
		args = append(args, "--dump-dom")
	}
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, errb.String())
	}
	return out.String(), consoleLine.FindAllString(errb.String(), -1)
}

func TestChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	d := fixture(t)
	write := func(name string, opts Options) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, render(t, d, opts), 0o644); err != nil {
			t.Fatal(err)
		}
		return "file://" + p
	}
	pageURL, slidesURL := write("report.html", Options{}), write("slides.html", Options{Slides: true})

	t.Run("detects console errors", func(t *testing.T) {
		// The check below must be able to fail: a page that throws.
		p := filepath.Join(dir, "bad.html")
		if err := os.WriteFile(p, []byte(`<!DOCTYPE html><p>x</p><script>throw new Error("kaboom")</script>`), 0o644); err != nil {
			t.Fatal(err)
		}
		_, console := headless(t, bin, "file://"+p)
		if len(console) != 1 || !strings.Contains(console[0], "Uncaught Error: kaboom") {
			t.Fatalf("console of a throwing page: %q", console)
		}
	})
	t.Run("report", func(t *testing.T) {
		dom, console := headless(t, bin, pageURL)
		if len(console) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
		}
		doc := parse(t, []byte(dom))
		for id, want := range map[string]int{"timeline": 1, "models": 3, "confusion": 1, "drift-share": 1, "drift-features": 4, "alerts": 1, "architecture": 1} {
			sec := byID(doc, id)
			if sec == nil {
				t.Errorf("rendered DOM has no #%s", id)
				continue
			}
			if got := count(sec, "svg"); got != want {
				t.Errorf("rendered #%s has %d <svg>, want %d", id, got, want)
			}
			if count(sec, "rect")+count(sec, "circle")+count(sec, "polyline") == 0 {
				t.Errorf("rendered #%s draws no marks", id)
			}
		}
	})
	t.Run("slides", func(t *testing.T) {
		for _, c := range []struct{ hash, active string }{{"", "s1"}, {"#3", "s3"}, {"#99", "s7"}} {
			dom, console := headless(t, bin, slidesURL+c.hash)
			if len(console) > 0 {
				t.Errorf("%s: console messages:\n%s", c.hash, strings.Join(console, "\n"))
			}
			doc := parse(t, []byte(dom))
			body := findTag(doc, "body")
			if cls, _ := attr(body, "class"); cls != "deck" {
				t.Errorf("%s: body class %q: the navigation script did not run", c.hash, cls)
			}
			var active []string
			walk(doc, func(n *html.Node) {
				if cls, _ := attr(n, "class"); n.Type == html.ElementNode && strings.Contains(cls, "slide") && strings.Contains(cls, "active") {
					id, _ := attr(n, "id")
					active = append(active, id)
				}
			})
			if len(active) != 1 || active[0] != c.active {
				t.Errorf("%s: active slides %q, want [%s]", c.hash, active, c.active)
			}
			if got := strings.TrimSpace(text(byID(doc, "pager"))); !strings.HasSuffix(got, "/ 7") {
				t.Errorf("%s: pager %q", c.hash, got)
			}
		}
	})
	t.Run("slides print one page each", func(t *testing.T) {
		pdf := filepath.Join(dir, "deck.pdf")
		_, console := headless(t, bin, slidesURL, "--no-pdf-header-footer", "--print-to-pdf="+pdf)
		if len(console) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
		}
		raw, err := os.ReadFile(pdf)
		if err != nil {
			t.Fatal(err)
		}
		// The page tree's root counts every page.
		m := regexp.MustCompile(`/Type\s*/Pages\b[^>]*?/Count (\d+)|/Count (\d+)[^>]*?/Type\s*/Pages\b`).FindSubmatch(raw)
		if m == nil {
			t.Fatal("no page tree in the PDF")
		}
		if n := string(m[1]) + string(m[2]); n != "7" {
			t.Errorf("the deck prints on %s pages, want 7 (one per slide)", n)
		}
	})
	// MEGA_REPORT_SCREENSHOTS=DIR keeps PNG screenshots of the report and of
	// the first slides there.
	if out := os.Getenv("MEGA_REPORT_SCREENSHOTS"); out != "" {
		t.Run("screenshots", func(t *testing.T) {
			shots := []struct{ file, url, size string }{{"report.png", pageURL, "1280,2400"}}
			for _, n := range []string{"1", "2", "4", "5", "6"} {
				shots = append(shots, struct{ file, url, size string }{"slide" + n + ".png", slidesURL + "#" + n, "1280,720"})
			}
			for _, s := range shots {
				p := filepath.Join(out, s.file)
				_, console := headless(t, bin, s.url, "--screenshot="+p, "--window-size="+s.size)
				if len(console) > 0 {
					t.Errorf("%s: console messages:\n%s", s.file, strings.Join(console, "\n"))
				}
				if st, err := os.Stat(p); err != nil || st.Size() == 0 {
					t.Errorf("no screenshot %s: %v", p, err)
				}
			}
		})
	}
}

func findTag(doc *html.Node, tag string) *html.Node {
	var out *html.Node
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag && out == nil {
			out = n
		}
	})
	return out
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
