package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

// shared is the team's read-only test data, beside the repository root.
var shared = filepath.Join("..", "..", "..", "shared", "testdata")

// result is what one in-process run of the command line gives.
type result struct {
	Stdout, Stderr string
	Code           int
}

// isolate gives the test an empty state directory and no inherited pointers
// at a running stack or service, so that every command sees "nothing runs".
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("MEGA_DIR", filepath.Join(dir, ".mega"))
	for _, k := range []string{"PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "STORAGE_EMULATOR_HOST",
		"MEGA_MONITORING_DASHBOARD", "MEGA_MONITORING_ENDPOINT", "MEGA_SERVE_URL", "MEGA_IMAGE", "PORT",
		"GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CONFIG", "MEGA_ARTIFACTS_BUCKET", "MEGA_PREFIX", "MEGA_TRAIN_BACKEND", "K_SERVICE", "AIP_HTTP_PORT"} {
		t.Setenv(k, "") // restored at cleanup
		os.Unsetenv(k)
	}
	// No test reaches Google Cloud: the credentials point at nothing.
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(dir, "no-credentials.json"))
	return dir
}

// mega runs the real command tree in-process, as `mega args...` with stdin.
func mega(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// walk lists every command of the tree by its path without "mega ".
func walk(c *cobra.Command) []string {
	var paths []string
	for _, s := range c.Commands() {
		paths = append(paths, strings.TrimPrefix(s.CommandPath(), "mega "))
		paths = append(paths, walk(s)...)
	}
	return paths
}

// exitCases are, per command, command lines with their expected exit code.
// Exit 0 and 1 cases run without a stack (none runs in the state directory),
// so a command that needs one fails with exit 1; the emulator tests run them
// against a stack. {dir} is the test's temporary directory, {shared} the
// team's test data.
var exitCases = []struct {
	args []string
	code int
}{
	{[]string{}, 2},
	{[]string{"nosuchcmd"}, 2},
	{[]string{"--nosuchflag"}, 2},
	{[]string{"--help"}, 0},
	{[]string{"help"}, 0},
	{[]string{"help", "local", "up"}, 0},
	{[]string{"help", "nosuch"}, 2},
	{[]string{"help", "local", "nosuch"}, 2},

	{[]string{"alerts"}, 1}, // no stack, no dashboard
	{[]string{"alerts", "--dashboard", "http://127.0.0.1:1"}, 1},            // nothing answers
	{[]string{"alerts", "--project", "p"}, 1},                               // no incident API in the cloud
	{[]string{"alerts", "extra"}, 2},                                        // too many args
	{[]string{"alerts", "--recent", "soon"}, 2},                             // bad flag value
	{[]string{"alerts", "--recent", "-1h"}, 2},                              // negative
	{[]string{"alerts", "emulator", "--grpc", "256.0.0.1:bad"}, 1},          // cannot listen
	{[]string{"alerts", "emulator", "extra"}, 2},                            // too many args
	{[]string{"alerts", "emulator", "--empty=maybe"}, 2},                    // bad bool
	{[]string{"completion", "bash"}, 0},                                     // cobra's completion
	{[]string{"completion"}, 2},                                             // missing subcommand
	{[]string{"completion", "nosuch"}, 2},                                   // unknown subcommand
	{[]string{"completion", "zsh", "extra"}, 2},                             // too many args
	{[]string{"demo", "--dataset", "{dir}/missing.csv"}, 1},                 // fails before starting anything
	{[]string{"demo", "extra"}, 2},                                          // too many args
	{[]string{"demo", "--requests", "many"}, 2},                             // bad flag value
	{[]string{"drift"}, 1},                                                  // no stack
	{[]string{"drift", "--model", "m", "--json"}, 1},                        // no stack
	{[]string{"drift", "extra"}, 2},                                         // too many args
	{[]string{"drift", "--timeout", "0s"}, 2},                               // not positive
	{[]string{"drift", "--timeout", "x"}, 2},                                // bad flag value
	{[]string{"drop", "{dir}/rows.csv", "--dataset", "rows"}, 1},            // no stack
	{[]string{"drop"}, 2},                                                   // missing FILE
	{[]string{"drop", "a.csv", "b.csv", "--dataset", "rows"}, 2},            // too many args
	{[]string{"drop", "a.csv"}, 2},                                          // missing --dataset
	{[]string{"drop", "a.csv", "--dataset", "Bad Name!"}, 2},                // bad dataset name
	{[]string{"drop", "a.csv", "--dataset", "rows", "--wait=x"}, 2},         // bad bool
	{[]string{"functions"}, 2},                                              // missing subcommand
	{[]string{"functions", "serve", "extra"}, 2},                            // too many args
	{[]string{"functions", "serve"}, 2},                                     // no --port, no $PORT
	{[]string{"functions", "serve", "--port", "http"}, 2},                   // bad flag value
	{[]string{"functions", "serve", "--port", "70000"}, 1},                  // cannot listen
	{[]string{"kfp", "compile", "-o", "{dir}/p.yaml", "--image", "img"}, 0}, // offline
	{[]string{"kfp", "compile", "-o", "-", "--image", "img"}, 0},            // to stdout
	{[]string{"kfp", "compile", "-o", "{dir}/no/such/dir/p.yaml", "--image", "img"}, 1},
	{[]string{"kfp", "compile", "--image", "img"}, 2},                                // missing -o
	{[]string{"kfp", "compile", "-o", "{dir}/p.yaml"}, 2},                            // no image
	{[]string{"kfp", "compile", "extra", "-o", "-", "--image", "i"}, 2},              // too many args
	{[]string{"kfp", "compile", "-o", "-", "--image", "i", "--no-cache=x"}, 2},       // bad bool
	{[]string{"kfp"}, 2},                                                             // missing subcommand
	{[]string{"kfp", "nosuch"}, 2},                                                   // unknown subcommand
	{[]string{"kfp", "submit", "--project", "p", "--run", "r", "--dataset", "d"}, 1}, // no credentials
	{[]string{"kfp", "submit"}, 2},                                                   // no --project
	{[]string{"kfp", "submit", "--project", "p"}, 2},                                 // no --run / --dataset
	{[]string{"kfp", "submit", "extra", "--project", "p"}, 2},                        // too many args
	{[]string{"local"}, 2},                                                           // missing subcommand
	{[]string{"local", "nosuch"}, 2},                                                 // unknown subcommand
	{[]string{"local", "status"}, 0},                                                 // not running is not a failure
	{[]string{"local", "status", "--json"}, 0},                                       // idem
	{[]string{"local", "status", "extra"}, 2},                                        // too many args
	{[]string{"local", "status", "--dir", ""}, 2},                                    // empty --dir
	{[]string{"local", "down"}, 0},                                                   // nothing to stop
	{[]string{"local", "down", "extra"}, 2},                                          // too many args
	{[]string{"local", "env"}, 1},                                                    // no stack
	{[]string{"local", "env", "extra"}, 2},                                           // too many args
	{[]string{"local", "up", "--dir", "/dev/null/mega"}, 1},                          // cannot make the state dir
	{[]string{"local", "up", "extra"}, 2},                                            // too many args
	{[]string{"local", "up", "--timeout", "x"}, 2},                                   // bad flag value
	{[]string{"local", "up", "--dir", ""}, 2},                                        // empty --dir
	{[]string{"local", "run", "extra"}, 2},                                           // too many args
	{[]string{"local", "run", "--dir", ""}, 2},                                       // empty --dir
	{[]string{"local", "run", "--dir", "{dir}/nothing"}, 1},                          // no state to run
	{[]string{"models"}, 1},                                                          // no stack
	{[]string{"models", "m"}, 1},                                                     // no stack
	{[]string{"models", "a", "b"}, 2},                                                // too many args
	{[]string{"models", "--nosuch"}, 2},                                              // unknown flag
	{[]string{"predict", "--model", "m", "{dir}/rows.csv", "--url", "http://127.0.0.1:1"}, 1},
	{[]string{"predict", "--model", "m", "{dir}/missing.csv"}, 1}, // no such file
	{[]string{"predict", "--model", "m"}, 2},                      // missing FILE
	{[]string{"predict", "{dir}/rows.csv"}, 2},                    // missing --model
	{[]string{"predict", "--model", "m", "a", "b"}, 2},            // too many args
	{[]string{"report", "--run", "r"}, 1},                         // no stack
	{[]string{"report", "--data", "{dir}/missing.json"}, 1},       // no such file
	{[]string{"report"}, 2},                                       // neither --run nor --data
	{[]string{"report", "--run", "r", "--data", "d"}, 2},          // both
	{[]string{"report", "extra", "--run", "r"}, 2},                // too many args
	{[]string{"runs"}, 1},                                         // no stack
	{[]string{"runs", "r"}, 1},                                    // no stack
	{[]string{"runs", "a", "b"}, 2},                               // too many args
	{[]string{"runs", "--limit", "ten"}, 2},                       // bad flag value
	{[]string{"serve"}, 1},                                        // no stack, no --file: fails before listening
	{[]string{"serve", "extra"}, 2},                               // too many args
	{[]string{"serve", "--port", "70000"}, 2},                     // out of range
	{[]string{"serve", "--port", "x"}, 2},                         // bad flag value
	{[]string{"serve", "--file", "nameonly"}, 2},                  // want NAME=PATH
	{[]string{"serve", "bench", "--model", "m", "--url", "http://127.0.0.1:1", "--n", "1"}, 1},
	{[]string{"serve", "bench"}, 2},                                         // missing --model
	{[]string{"serve", "bench", "--model", "m", "--instances", "0"}, 2},     // out of range
	{[]string{"serve", "bench", "extra", "--model", "m"}, 2},                // too many args
	{[]string{"serve", "coldstart", "--file", "m={dir}/missing.tflite"}, 1}, // no such model
	{[]string{"serve", "coldstart"}, 2},                                     // neither --file nor --model
	{[]string{"serve", "coldstart", "--file", "nameonly"}, 2},               // want NAME=PATH
	{[]string{"serve", "coldstart", "extra"}, 2},                            // too many args
	{[]string{"stage", "--fn", "nosuchfn", "-o", "{dir}/dist"}, 1},          // no such function
	{[]string{"stage", "extra"}, 2},                                         // too many args
	{[]string{"stage", "--verify=x"}, 2},                                    // bad bool
	{[]string{"step", "featurize", "--run-id", "r"}, 1},                     // no stack
	{[]string{"step"}, 2},                                                   // missing STEP
	{[]string{"step", "a", "b"}, 2},                                         // too many args
	{[]string{"step", "nosuch", "--run-id", "r"}, 2},                        // unknown step
	{[]string{"step", "train"}, 2},                                          // missing --run-id
	{[]string{"step", "train", "--run-id", "r", "--param", "x=1"}, 2},       // unknown parameter
	{[]string{"tflite"}, 2},                                                 // missing subcommand
	{[]string{"tflite", "inspect", "{shared}/tflite/hello_world_float.tflite"}, 0},
	{[]string{"tflite", "inspect", "{dir}/missing.tflite"}, 1},
	{[]string{"tflite", "inspect", "{dir}/rows.csv"}, 1}, // not a model
	{[]string{"tflite", "inspect"}, 2},
	{[]string{"tflite", "inspect", "a", "b"}, 2},
	{[]string{"tflite", "run", "{shared}/tflite/hello_world_int8.tflite", "--json"}, 0},
	{[]string{"tflite", "run", "{dir}/missing.tflite"}, 1},
	{[]string{"tflite", "run"}, 2},
	{[]string{"tflite", "run", "a", "b"}, 2},
	{[]string{"tflite", "run", "a", "--requant", "fast"}, 2},
	{[]string{"tflite", "bench", "{shared}/tflite/hello_world_int8.tflite", "--n", "3"}, 0},
	{[]string{"tflite", "bench", "{dir}/missing.tflite"}, 1},
	{[]string{"tflite", "bench"}, 2},
	{[]string{"tflite", "bench", "a", "--n", "0"}, 2},
	{[]string{"tflite", "rewrite", "{shared}/tflite/hello_world_int8.tflite", "-o", "{dir}/out.tflite"}, 0},
	{[]string{"tflite", "rewrite", "{dir}/missing.tflite", "-o", "{dir}/out.tflite"}, 1},
	{[]string{"tflite", "rewrite", "a"}, 2}, // missing -o
	{[]string{"tflite", "rewrite", "-o", "x"}, 2},
	{[]string{"tflite", "quantize", "{dir}/missing.tflite", "-o", "{dir}/q.tflite"}, 1},
	{[]string{"tflite", "quantize", "a"}, 2}, // missing -o
	{[]string{"tflite", "quantize", "-o", "x"}, 2},
	{[]string{"tflite", "quantize", "a", "-o", "x", "--io", "int4"}, 2},
	{[]string{"trigger", "train", "--run", "r"}, 1},  // no stack
	{[]string{"trigger"}, 2},                         // missing STEP
	{[]string{"trigger", "a", "b"}, 2},               // too many args
	{[]string{"trigger", "nosuch", "--run", "r"}, 2}, // unknown step
	{[]string{"trigger", "train"}, 2},                // missing --run
}

func expand(args []string, dir string) []string {
	r := strings.NewReplacer("{dir}", dir, "{shared}", shared)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}

// TestExitCodes runs every case of exitCases and checks the exit code and
// the shape of stderr: nothing on success, one line "mega: reason" on a
// failure, the reason and a pointer to --help on a wrong command line.
func TestExitCodes(t *testing.T) {
	for _, tc := range exitCases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			dir := isolate(t)
			if err := os.WriteFile(filepath.Join(dir, "rows.csv"), []byte("a,b\n1,2\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := expand(tc.args, dir)
			r := mega(t, "", args...)
			if r.Code != tc.code {
				t.Fatalf("mega %q: exit %d, want %d\nstdout: %s\nstderr: %s", args, r.Code, tc.code, r.Stdout, r.Stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.Stderr, "\n"), "\n")
			switch tc.code {
			case 1:
				if len(lines) != 1 || !strings.HasPrefix(lines[0], "mega: ") {
					t.Errorf("exit 1 wants one line \"mega: reason\" on stderr, got %q", r.Stderr)
				}
			case 2:
				if len(lines) != 2 || !strings.HasPrefix(lines[0], "mega: ") || !strings.HasSuffix(lines[1], " --help' for usage.") {
					t.Errorf("exit 2 wants \"mega: reason\" and the --help pointer on stderr, got %q", r.Stderr)
				}
			}
		})
	}
}

// TestEveryCommandHasExitCases keeps exitCases complete: every command of
// the tree has a case that runs it (exit 0 or 1) or, for group commands, a
// case without subcommand, and a wrong command line (exit 2).
func TestEveryCommandHasExitCases(t *testing.T) {
	isolate(t)
	covered := map[string][2]bool{} // command path -> ran (0/1), usage (2)
	root := newRootCmd()
	for _, tc := range exitCases {
		c, _, err := root.Find(tc.args)
		if err != nil {
			continue
		}
		path := strings.TrimPrefix(c.CommandPath(), "mega")
		path = strings.TrimPrefix(path, " ")
		cv := covered[path]
		if tc.code == 2 {
			cv[1] = true
		} else {
			cv[0] = true
		}
		covered[path] = cv
	}
	var missing []string
	for _, p := range walk(root) {
		c, _, _ := root.Find(strings.Fields(p))
		cv := covered[p]
		if c.Name() == "help" {
			continue // covered by the root's help cases
		}
		group := c.HasSubCommands() && !c.Runnable() // only usage cases: it runs nothing itself
		if !cv[1] || !cv[0] && !group {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Errorf("commands without an exit 0/1 case and an exit 2 case in exitCases: %s", strings.Join(missing, ", "))
	}
}

// TestUnknownFlagEverywhere: an unknown flag is a wrong command line for
// every command of the tree, and --help succeeds for every one.
func TestUnknownFlagEverywhere(t *testing.T) {
	isolate(t)
	for _, p := range walk(newRootCmd()) {
		args := strings.Fields(p)
		t.Run(p, func(t *testing.T) {
			if r := mega(t, "", append(args, "--no-such-flag")...); r.Code != 2 {
				t.Errorf("mega %s --no-such-flag: exit %d, want 2; stderr %q", p, r.Code, r.Stderr)
			}
			r := mega(t, "", append(args, "--help")...)
			if r.Code != 0 || r.Stdout == "" || r.Stderr != "" {
				t.Errorf("mega %s --help: exit %d, stdout %d bytes, stderr %q", p, r.Code, len(r.Stdout), r.Stderr)
			}
		})
	}
}

// TestUsageErrorOutput pins the whole output of a wrong command line.
func TestUsageErrorOutput(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args []string
		want result
	}{
		{[]string{"step"}, result{"", "mega: accepts 1 arg(s), received 0\nRun 'mega step --help' for usage.\n", 2}},
		{[]string{"nosuchcmd"}, result{"", "mega: unknown command \"nosuchcmd\" for \"mega\"\nRun 'mega --help' for usage.\n", 2}},
		{[]string{"local", "nosuch"}, result{"", "mega: unknown command \"nosuch\" for \"mega local\"\nRun 'mega local --help' for usage.\n", 2}},
		{[]string{"local"}, result{"", "mega: mega local needs a subcommand: down, env, status, up\nRun 'mega local --help' for usage.\n", 2}},
		{[]string{"runs", "--limit", "x"}, result{"", "mega: invalid argument \"x\" for \"--limit\" flag: strconv.ParseInt: parsing \"x\": invalid syntax\nRun 'mega runs --help' for usage.\n", 2}},
	} {
		if diff := cmp.Diff(tc.want, mega(t, "", tc.args...)); diff != "" {
			t.Errorf("mega %q (-want +got):\n%s", tc.args, diff)
		}
	}
}

// TestLocalStatusNotRunning pins what status prints when nothing runs.
func TestLocalStatusNotRunning(t *testing.T) {
	dir := isolate(t)
	d := filepath.Join(dir, "state")
	got := mega(t, "", "local", "status", "--dir", d)
	want := result{Stdout: "local stack not running (dir " + d + ")\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
