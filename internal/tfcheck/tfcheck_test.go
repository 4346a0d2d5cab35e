package tfcheck

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/megapipe/mega/shared/config"
)

const (
	schemaPath   = "../../testdata/terraform/google-provider-6.50.0-schema.json.gz"
	terraformDir = "../../terraform"
	badDir       = "../../testdata/terraform/bad"
)

func googleSchema(t *testing.T) *Schema {
	t.Helper()
	s, err := LoadSchemaFile(schemaPath, "google", "6.50.0")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTerraform checks terraform/ against the Google provider 6.50.0 schema.
func TestTerraform(t *testing.T) {
	r, err := Check(terraformDir, googleSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("files: %s", strings.Join(r.Files, " "))
	t.Logf("checked against google 6.50.0 (%d):\n  %s", len(r.Checked), strings.Join(r.Checked, "\n  "))
	t.Logf("not checked for want of a schema (references still checked):\n  %s", strings.Join(r.Unchecked, "\n  "))
	for _, p := range r.Problems {
		t.Error(p)
	}
	// What the deployment must hold (issue 7).
	for _, want := range []string{
		"resource google_storage_bucket.bucket",
		"resource google_pubsub_topic.topic",
		"resource google_pubsub_subscription.sub",
		"resource google_firestore_database.default",
		"resource google_cloudfunctions2_function.function",
		"resource google_eventarc_trigger.extra",
		"resource google_cloud_run_v2_service.serve",
		"resource google_cloud_scheduler_job.drift_tick",
		"resource google_service_account.identity",
		"resource google_monitoring_alert_policy.policy",
		"resource google_monitoring_notification_channel.drift_alerts",
		"resource google_monitoring_notification_channel.email",
		"resource google_monitoring_dashboard.main",
		"resource google_artifact_registry_repository.mega",
	} {
		if !contains(r.Checked, want) {
			t.Errorf("terraform/ has no %s", want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBad runs every fixture under testdata/terraform/bad: each must fail
// with exactly the problems listed in its want.txt (one message fragment a
// line).
func TestBad(t *testing.T) {
	s := googleSchema(t)
	dirs, err := os.ReadDir(badDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 2 {
		t.Fatalf("want fixtures in %s", badDir)
	}
	for _, d := range dirs {
		t.Run(d.Name(), func(t *testing.T) {
			dir := filepath.Join(badDir, d.Name())
			wantText, err := os.ReadFile(filepath.Join(dir, "want.txt"))
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Split(strings.TrimSpace(string(wantText)), "\n")
			r, err := Check(dir, s)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() {
				t.Fatal("the check passed")
			}
			var got []string
			for _, p := range r.Problems {
				got = append(got, p.Message)
				t.Log(p)
			}
			var matched []string
			for _, g := range got {
				for _, w := range want {
					if strings.Contains(g, w) {
						matched = append(matched, w)
						break
					}
				}
			}
			sort.Strings(want)
			sort.Strings(matched)
			if diff := cmp.Diff(want, matched); diff != "" || len(got) != len(want) {
				t.Errorf("problems matched by want.txt (-want +got):\n%s\nall problems:\n%s", diff, strings.Join(got, "\n"))
			}
		})
	}
}

// TestConfigMatches checks that terraform/ wires what shared/config says:
// every topic, every trigger of config.Triggers, and the drift schedule.
func TestConfigMatches(t *testing.T) {
	locals := constantLocals(t, terraformDir)

	var topics []string
	for _, v := range locals["topics"].AsValueSlice() {
		topics = append(topics, v.AsString())
	}
	if diff := cmp.Diff(config.PipelineTopics, topics); diff != "" {
		t.Errorf("local.topics differ from config.PipelineTopics (-config +terraform):\n%s", diff)
	}

	var triggers []config.Trigger
	for _, v := range locals["triggers"].AsValueSlice() {
		str := func(k string) string {
			if a := v.GetAttr(k); !a.IsNull() {
				return a.AsString()
			}
			return ""
		}
		triggers = append(triggers, config.Trigger{Function: str("function"), Topic: str("topic"), Bucket: str("bucket")})
	}
	if diff := cmp.Diff(config.Triggers, triggers); diff != "" {
		t.Errorf("local.triggers differ from config.Triggers (-config +terraform):\n%s", diff)
	}

	if got := locals["drift_schedule"].AsString(); got != config.DriftSchedule {
		t.Errorf("local.drift_schedule = %q, want config.DriftSchedule %q", got, config.DriftSchedule)
	}

	// Every function of the trigger table is deployed with its entry point,
	// keyed by its folder name under functions/.
	entry := map[string]string{}
	for k, v := range locals["functions"].AsValueMap() {
		entry[k] = v.GetAttr("entry_point").AsString()
	}
	want := map[string]string{}
	for _, tr := range config.Triggers {
		want[strings.ToLower(tr.Function)] = tr.Function
	}
	if diff := cmp.Diff(want, entry); diff != "" {
		t.Errorf("local.functions entry points (-config +terraform):\n%s", diff)
	}
	// ... and each is a folder under functions/, which make stage turns
	// into dist/functions/<name>, the source Terraform zips.
	for name := range entry {
		if _, err := os.Stat(filepath.Join("../../functions", name)); err != nil {
			t.Errorf("local.functions[%q]: no folder functions/%s: %v", name, name, err)
		}
	}
	for _, b := range []string{"raw", "models", "artifacts"} {
		if _, ok := locals["buckets"].AsValueMap()[b]; !ok {
			t.Errorf("local.buckets has no %q bucket", b)
		}
	}
}

// constantLocals evaluates the locals of dir whose values are constants.
func constantLocals(t *testing.T, dir string) map[string]cty.Value {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]cty.Value{}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := hclsyntax.ParseConfig(src, p, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if b.Type != "locals" {
				continue
			}
			for name, a := range b.Body.Attributes {
				if len(a.Expr.Variables()) > 0 {
					continue
				}
				if v, diags := a.Expr.Value(nil); !diags.HasErrors() && v.IsWhollyKnown() {
					out[name] = v
				}
			}
		}
	}
	for _, name := range []string{"topics", "triggers", "drift_schedule", "functions", "buckets"} {
		if _, ok := out[name]; !ok {
			t.Fatalf("terraform/ has no constant local %q", name)
		}
	}
	return out
}

func TestLoadSchemaErrors(t *testing.T) {
	tests := []struct{ name, data string }{
		{"empty", ""},
		{"not json", "resource"},
		{"no resources", `{"resources":{}}`},
		{"unknown key", `{"resources":{"google_x":{}},"providers":{}}`},
		{"foreign resource", `{"resources":{"aws_s3_bucket":{}}}`},
		{"bad gzip", "\x1f\x8bxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadSchema(strings.NewReader(tt.data), "google", "test"); err == nil {
				t.Error("no error")
			}
		})
	}
	s, err := LoadSchema(strings.NewReader(`{"resources":{"google_x":{"name":{"required":true},"b":{"required":false,"block":{}}}}}`), "google", "test")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Resources["google_x"]["name"].Required || s.Resources["google_x"]["name"].IsBlock() || !s.Resources["google_x"]["b"].IsBlock() {
		t.Errorf("schema read wrong: %+v", s.Resources["google_x"])
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		name string
		cand []string
		want string
	}{
		{"locaton", []string{"location", "labels"}, `; did you mean "location"?`},
		{"zzzzzz", []string{"location"}, ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.name, tt.cand); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func FuzzLoadSchema(f *testing.F) {
	f.Add([]byte(`{"resources":{"google_x":{"name":{"required":true},"b":{"block":{"c":{"required":true}}}}}}`))
	f.Add([]byte(`{"resources":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := LoadSchema(strings.NewReader(string(data)), "google", "fuzz")
		if err == nil && len(s.Resources) == 0 {
			t.Fatal("accepted a schema without resources")
		}
	})
}

func FuzzCheckFiles(f *testing.F) {
	for _, p := range []string{"main.tf", "alerting.tf", "functions.tf"} {
		if src, err := os.ReadFile(filepath.Join(terraformDir, p)); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("resource \"google_x\" \"y\" {\n  dynamic \"b\" {\n    content {}\n  }\n}\n"))
	schema := Block{"name": {Required: true}, "b": {Block: Block{"c": {Required: true}}}}
	s := &Schema{Provider: "google", Resources: map[string]Block{"google_x": schema}}
	f.Fuzz(func(t *testing.T, src []byte) {
		r := CheckFiles(map[string][]byte{"fuzz.tf": src}, s)
		if len(r.Files) != 1 {
			t.Fatalf("files = %v", r.Files)
		}
	})
}
