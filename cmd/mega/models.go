package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/shared/registry"
)

func init() { commands = append(commands, newModelsCmd) }

// modelView is what `mega models --json` prints for one model.
type modelView struct {
	Model    registry.Model     `json:"model"`
	Versions []registry.Version `json:"versions"`
}

func newModelsCmd() *cobra.Command {
	var rollback, reason, by string
	c := &cobra.Command{
		Use:   "models [NAME]",
		Short: "Registry: versions, sizes, metrics, gate verdicts, which one serves",
		Long: "models lists every model with its serving version; with NAME it shows each version's\n" +
			"teacher / student / int8 sizes, test metrics, latency, gate verdict, and marks the one serving.",
		Example: "  mega models\n  mega models breast-cancer\n  mega models breast-cancer --json\n" +
			"  mega models breast-cancer --rollback v1 --reason v2-misclassifies-stage-2",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("models takes at most one NAME, got %d arguments", len(args))
			}
			if rollback != "" && (len(args) != 1 || strings.TrimSpace(reason) == "") {
				return usagef("--rollback VERSION needs the model NAME and --reason WHY")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			env, err := connect(ctx)
			if err != nil {
				return err
			}
			defer env.Close()
			reg := registry.New(env.Docs)
			if rollback != "" {
				if by == "" {
					by = whoAmI()
				}
				s, err := reg.Rollback(ctx, args[0], rollback, by, reason)
				if err != nil {
					return err
				}
				if s.Rollback == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s is already serving; nothing changed\n", args[0], s.Version)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: serving rolled back from %s to %s by %s: %s\n", args[0], s.Rollback.From, s.Version, s.Rollback.By, s.Rollback.Why)
				}
			}
			var names []string
			if len(args) == 1 {
				names = args
			} else {
				ms, err := reg.Models(ctx)
				if err != nil {
					return err
				}
				for _, m := range ms {
					names = append(names, m.Name)
				}
			}
			views, err := modelViews(ctx, reg, names)
			if err != nil {
				return err
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), jsonModels(views))
			}
			if len(views) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no models yet: drop a dataset with `mega drop FILE --dataset NAME`")
				return nil
			}
			for _, v := range views {
				printModel(cmd.OutOrStdout(), v, len(args) == 1)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&rollback, "rollback", "", "move serving back to this older VERSION (needs --reason); recorded with who and why")
	f.StringVar(&reason, "reason", "", "why the rollback (recorded)")
	f.StringVar(&by, "by", "", "who rolls back (default: $USER@host)")
	return c
}

// whoAmI names the person running the command for the rollback record.
func whoAmI() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	if name == "" {
		name = "unknown"
	}
	if host != "" {
		name += "@" + host
	}
	return name
}

// modelViews reads the named models and their versions.
func modelViews(ctx context.Context, reg *registry.Registry, names []string) ([]modelView, error) {
	var views []modelView
	for _, n := range names {
		m, err := reg.Model(ctx, n)
		if err != nil {
			return nil, err
		}
		vs, err := reg.Versions(ctx, n)
		if err != nil {
			return nil, err
		}
		views = append(views, modelView{Model: m, Versions: vs})
	}
	return views, nil
}

// jsonModels is what --json prints: arrays and maps never null (Firestore
// gives back an empty list or map as nothing), so that the output matches
// schema/models.schema.json.
func jsonModels(views []modelView) []modelView {
	out := make([]modelView, 0, len(views))
	for _, v := range views {
		if v.Versions == nil {
			v.Versions = []registry.Version{}
		}
		for i := range v.Versions {
			if v.Versions[i].Artifacts == nil {
				v.Versions[i].Artifacts = map[string]registry.Artifact{}
			}
			if v.Versions[i].Metrics == nil {
				v.Versions[i].Metrics = map[string]float64{}
			}
		}
		out = append(out, v)
	}
	return out
}

func printModel(w io.Writer, v modelView, detail bool) {
	serving := "(nothing deployed)"
	if s := v.Model.Serving; s != nil {
		serving = fmt.Sprintf("%s since %s (sha256 %s…)", s.Version, s.Moved.Format("2006-01-02 15:04:05"), s.SHA256[:min(12, len(s.SHA256))])
	}
	fmt.Fprintf(w, "model %s: %d version(s), serving %s\n", v.Model.Name, len(v.Versions), serving)
	if s := v.Model.Serving; s != nil && s.Rollback != nil {
		fmt.Fprintf(w, "  rolled back from %s by %s at %s: %s\n", s.Rollback.From, s.Rollback.By, s.Rollback.At.Format("2006-01-02 15:04:05"), s.Rollback.Why)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATUS\tRUN\tTEACHER\tSTUDENT\tINT8\tINT8/STUDENT\tGATE")
	for _, ver := range v.Versions {
		mark := ""
		if v.Model.Serving != nil && v.Model.Serving.Version == ver.Version {
			mark = " *"
		}
		gate := "-"
		if ver.Gate != nil {
			gate = map[bool]string{true: "passed", false: "REJECTED"}[ver.Gate.Passed]
			var failed []string
			for _, c := range ver.Gate.Checks {
				if !c.Passed {
					failed = append(failed, c.Name)
				}
			}
			if len(failed) > 0 {
				gate += " (" + strings.Join(failed, ", ") + ")"
			}
		}
		ratio := ""
		if s, i := ver.Artifacts["student"].Size, ver.Artifacts["int8"].Size; s > 0 && i > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*float64(i)/float64(s))
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ver.Version, mark, ver.Status, ver.RunID,
			modelCell(ver, "teacher"), modelCell(ver, "student"), modelCell(ver, "int8"), ratio, gate)
	}
	tw.Flush()
	if !detail {
		return
	}
	for _, ver := range v.Versions {
		fmt.Fprintf(w, "\n%s (%s, task %s)\n", ver.Version, ver.Created.Format("2006-01-02 15:04:05"), ver.Task)
		if ver.Gate != nil {
			fmt.Fprintf(w, "  gate: %s\n", map[bool]string{true: "passed", false: "REJECTED"}[ver.Gate.Passed])
			if len(ver.Gate.Checks) == 0 {
				fmt.Fprintf(w, "    %s\n", ver.Gate.Reason)
			}
			for _, c := range ver.Gate.Checks {
				mark := map[bool]string{true: "ok  ", false: "FAIL"}[c.Passed]
				if c.Skipped {
					mark = "skip"
				}
				fmt.Fprintf(w, "    %s %s\n", mark, c.Reason)
			}
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  METRIC\tTEACHER\tSTUDENT\tINT8")
		for _, k := range []string{"accuracy", "macro_f1", "roc_auc", "log_loss", "rmse", "mae", "r2", "bytes", "latency_median_ns", "agreement", "params"} {
			row := []string{}
			any := false
			for _, m := range []string{"teacher", "student", "int8"} {
				if x, ok := ver.Metrics[m+"_"+k]; ok {
					row = append(row, formatMetric(k, x))
					any = true
				} else {
					row = append(row, "-")
				}
			}
			if any {
				fmt.Fprintf(tw, "  %s\t%s\n", k, strings.Join(row, "\t"))
			}
		}
		tw.Flush()
		for _, name := range sortedKeys(ver.Artifacts) {
			a := ver.Artifacts[name]
			fmt.Fprintf(w, "  %-10s %s (%d bytes)\n", name, a.URI, a.Size)
		}
	}
}

func modelCell(v registry.Version, name string) string {
	a, ok := v.Artifacts[name]
	if !ok {
		return "-"
	}
	cell := humanBytes(a.Size)
	if acc, ok := v.Metrics[name+"_accuracy"]; ok {
		cell += fmt.Sprintf(" acc %.3f", acc)
	} else if rmse, ok := v.Metrics[name+"_rmse"]; ok {
		cell += fmt.Sprintf(" rmse %.3g", rmse)
	}
	return cell
}

func formatMetric(k string, x float64) string {
	switch k {
	case "bytes":
		return humanBytes(int64(x))
	case "latency_median_ns":
		return fmt.Sprintf("%.1f µs", x/1000)
	case "params":
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.4f", x)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
