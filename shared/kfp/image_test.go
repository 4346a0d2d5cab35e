package kfp

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// instruction is one Dockerfile instruction.
type instruction struct {
	Cmd  string
	Args string
}

// parseDockerfile splits a Dockerfile into instructions, joining
// continuation lines and dropping comments.
func parseDockerfile(t *testing.T, src string) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// TestDockerfile checks the image the components and the inference service
// run: a multi-stage build of a static mega, a distroless static nonroot
// final stage, and /mega as the entry point, which is where Pipeline's
// components call it.
func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	ins := parseDockerfile(t, string(src))
	var stages []instruction
	last := -1
	for i, in := range ins {
		if in.Cmd == "FROM" {
			stages = append(stages, in)
			last = i
		}
	}
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d FROM", len(stages))
	}
	if !regexp.MustCompile(`^golang:\S+ AS build$`).MatchString(stages[0].Args) {
		t.Errorf("first stage %q: want golang:... AS build", stages[0].Args)
	}
	if !regexp.MustCompile(`^gcr\.io/distroless/static(-debian\d+)?:nonroot$`).MatchString(stages[len(stages)-1].Args) {
		t.Errorf("final stage %q: want gcr.io/distroless/static...:nonroot", stages[len(stages)-1].Args)
	}
	var build string
	for _, in := range ins[:last] {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
			build = in.Args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-o /out/mega", "./cmd/mega"} {
		if !strings.Contains(build, want) {
			t.Errorf("build step %q lacks %q", build, want)
		}
	}
	final := map[string]string{}
	for _, in := range ins[last+1:] {
		final[in.Cmd] = in.Args
	}
	if final["COPY"] != "--from=build /out/mega /mega" {
		t.Errorf("final COPY %q", final["COPY"])
	}
	if u, _, _ := strings.Cut(final["USER"], ":"); u != "nonroot" {
		t.Errorf("USER %q: want nonroot", final["USER"])
	}
	var entry []string
	if err := json.Unmarshal([]byte(final["ENTRYPOINT"]), &entry); err != nil {
		t.Fatalf("ENTRYPOINT %q: want exec form: %v", final["ENTRYPOINT"], err)
	}
	spec, err := Pipeline(Options{Image: "img"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{spec.DeploymentSpec.Executors["exec-train"].Container.Command[0]}, entry); diff != "" {
		t.Errorf("ENTRYPOINT is not where the components call mega (-components +Dockerfile):\n%s", diff)
	}
}

func TestParseDockerfile(t *testing.T) {
	got := parseDockerfile(t, "# c\nFROM a AS b\n\nRUN x \\\n  y\nuser nonroot\n")
	want := []instruction{{"FROM", "a AS b"}, {"RUN", "x  y"}, {"USER", "nonroot"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
