package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/emulators/monitoring"
	"github.com/megapipe/mega/emulators/stack"
	"github.com/megapipe/mega/functions/driftcheck"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/report"
	"github.com/megapipe/mega/shared/step"
)

func init() { commands = append(commands, newReportCmd) }

func newReportCmd() *cobra.Command {
	var runID, out, dashboard, title, from string
	var slides bool
	cmd := &cobra.Command{
		Use:   "report --run RUN_ID [-o FILE.html] [--slides]",
		Short: "Write a run's report (or slide deck) as one self-contained HTML file",
		Long: `report gathers one run's record, the model version it registered, its benchmark (teacher,
student and int8 size, latency, accuracy, confusion matrix, gate), the model's drift checks and
the alert incidents about it, and writes one HTML file that needs no network: charts are inline
SVG. --slides writes the same as a deck of seven slides (arrow keys move; print gives a page per
slide). Sections whose source has nothing yet say "no data yet" and why.

--json prints the gathered data instead (and still writes -o if it was given). --data FILE
renders from such a JSON file instead of the stack. Incidents come from the local Monitoring
emulator (--dashboard, else $MEGA_MONITORING_DASHBOARD, else the running stack's); with --project
the report has no incident timeline, as Cloud Monitoring's API has no incident list.`,
		Example: "  mega report --run breast-cancer-1a2b3c4d5e -o report.html\n" +
			"  mega report --run breast-cancer-1a2b3c4d5e -o slides.html --slides\n" +
			"  mega report --run breast-cancer-1a2b3c4d5e --json > report.json\n" +
			"  mega report --data report.json -o report.html",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (runID == "") == (from == "") {
				return usagef("report: give --run RUN_ID or --data FILE")
			}
			ctx := cmd.Context()
			var d *report.Data
			if from != "" {
				raw, err := os.ReadFile(from)
				if err != nil {
					return fmt.Errorf("report: %w", err)
				}
				d = &report.Data{}
				if err := json.Unmarshal(raw, d); err != nil {
					return fmt.Errorf("report: read %s: %w", from, err)
				}
			} else {
				env, err := connect(ctx)
				if err != nil {
					return err
				}
				defer env.Close()
				if d, err = gatherReport(ctx, env, runID, dashboard); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			if global.JSON {
				if err := printJSON(w, d); err != nil {
					return err
				}
				if !cmd.Flags().Changed("out") {
					return nil
				}
			}
			if err := writeReportFile(d, out, report.Options{Slides: slides, Title: title}); err != nil {
				return err
			}
			if !global.JSON {
				kind := "report"
				if slides {
					kind = "slides"
				}
				fmt.Fprintf(w, "wrote the %s of run %s to %s\n", kind, d.RunID, out)
				for _, s := range []string{report.SectionVersion, report.SectionBenchmark, report.SectionDrift, report.SectionAlerts} {
					if g, ok := d.Gaps[s]; ok {
						fmt.Fprintf(w, "  no %s data: %s\n", s, g)
					}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&runID, "run", "", "run id (see mega runs)")
	f.StringVarP(&out, "out", "o", "report.html", "HTML file to write")
	f.BoolVar(&slides, "slides", false, "write a slide deck instead of the report")
	f.StringVar(&title, "title", "", `title (default "Megapipe: DATASET")`)
	f.StringVar(&dashboard, "dashboard", "", "address of the local monitoring dashboard, for incidents (default $MEGA_MONITORING_DASHBOARD)")
	f.StringVar(&from, "data", "", "render from a JSON file written by --json instead of the stack")
	return cmd
}

// gatherReport reads a run's report data from the stack (or --project).
func gatherReport(ctx context.Context, env *step.Env, runID, dashboard string) (*report.Data, error) {
	return report.Gather(ctx, report.Sources{
		Runs:      env.Runs,
		Versions:  registry.New(env.Docs),
		Artifacts: env,
		Drift:     driftHistory{env},
		Alerts:    incidentSource{dashboard: dashboard},
	}, runID)
}

// writeReportFile renders d into path.
func writeReportFile(d *report.Data, path string, opts report.Options) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := report.Render(f, d, opts); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// writeRunReport writes a run's report to path and its slides to slides
// (skipped when empty), for `mega demo`.
func writeRunReport(ctx context.Context, env *step.Env, runID, path, slides string) error {
	d, err := gatherReport(ctx, env, runID, "")
	if err != nil {
		return err
	}
	if err := writeReportFile(d, path, report.Options{}); err != nil {
		return err
	}
	if slides == "" {
		return nil
	}
	return writeReportFile(d, slides, report.Options{Slides: true})
}

// driftHistory reads functions/driftcheck's summaries.
type driftHistory struct{ env *step.Env }

func (h driftHistory) DriftHistory(ctx context.Context, model string, limit int) ([]report.DriftCheck, error) {
	sums, err := driftcheck.History(ctx, h.env.Docs, model, limit)
	if err != nil {
		return nil, err
	}
	out := make([]report.DriftCheck, 0, len(sums))
	for _, s := range sums {
		c := report.DriftCheck{CheckID: s.CheckID, CheckTime: s.CheckTime, Version: s.Version, Rows: s.Rows,
			Evaluated: s.Evaluated, Drifted: s.Drifted, DriftShare: s.DriftShare, ShareBound: s.ShareBound,
			DatasetDrift: s.DatasetDrift, Verdict: s.Verdict, ReportHTML: s.ReportHTML}
		for _, f := range s.Features {
			c.Features = append(c.Features, featureDrift(f))
		}
		if s.Prediction != nil {
			p := featureDrift(*s.Prediction)
			c.Prediction = &p
		}
		out = append(out, c)
	}
	return out, nil
}

func featureDrift(f driftcheck.FeatureSummary) report.FeatureDrift {
	return report.FeatureDrift{Feature: f.Feature, Kind: f.Kind, Method: f.Method, Statistic: f.Statistic, PValue: f.PValue,
		Threshold: f.Threshold, Drifted: f.Drifted, Verdict: f.Verdict, Count: f.Count, Stats: f.Stats}
}

// incidentSource reads the local Monitoring emulator's incidents.
type incidentSource struct{ dashboard string }

func (s incidentSource) Incidents(ctx context.Context) ([]report.Incident, error) {
	if global.Project != "" {
		return nil, errors.New("the Cloud Monitoring API has no incident list; see the console's Monitoring > Alerting page")
	}
	addr := s.dashboard
	if addr == "" {
		addr = os.Getenv("MEGA_MONITORING_DASHBOARD")
	}
	if addr == "" {
		st, err := stack.Load(global.Dir)
		if err != nil {
			return nil, fmt.Errorf("find the monitoring dashboard: %w", err)
		}
		addr = st.Endpoints.Dashboard
	}
	all, err := monitoring.FetchIncidents(ctx, addr, "")
	if err != nil {
		return nil, err
	}
	out := make([]report.Incident, 0, len(all))
	for _, in := range all {
		out = append(out, report.Incident{ID: in.ID, Policy: in.PolicyName, Condition: in.ConditionName, State: in.State,
			Started: in.StartedAt, Ended: in.EndedAt, Metric: in.MetricType, Labels: in.MetricLabels,
			Threshold: in.Threshold, Observed: in.Observed, Summary: in.Summary})
	}
	return out, nil
}
