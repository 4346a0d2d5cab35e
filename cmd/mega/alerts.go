package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/emulators/monitoring"
	"github.com/megapipe/mega/emulators/stack"
	"github.com/megapipe/mega/shared/config"
)

func init() { commands = append(commands, newAlertsCmd) }

// alertsOutput is the JSON of `mega alerts --json`.
type alertsOutput struct {
	Dashboard string                `json:"dashboard"`
	Open      []monitoring.Incident `json:"open"`
	Recent    []monitoring.Incident `json:"recent_closed"`
}

func newAlertsCmd() *cobra.Command {
	var dashboard string
	var recent time.Duration
	cmd := &cobra.Command{
		Use:     "alerts",
		Example: "  mega alerts\n  mega alerts --json --recent 2h\n  mega alerts --dashboard http://127.0.0.1:8089",
		Short:   "Open and recent alert incidents",
		Long: `alerts lists the open alert incidents and those closed recently, from the local stack's
Cloud Monitoring emulator (its JSON API; the dashboard page is at the same address).

The address is --dashboard, else $MEGA_MONITORING_DASHBOARD (http://host:port), else the one
the running stack recorded in <dir>/stack.json.

With --project (a real project) this fails: Cloud Monitoring's v3 API has no call that lists
incidents. See them in the console (Monitoring > Alerting) or subscribe to the drift-alerts
topic, which receives the incident notifications.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if global.Project != "" {
				return fmt.Errorf("alerts --project %s: Cloud Monitoring's API has no incident list; see https://console.cloud.google.com/monitoring/alerting?project=%s or subscribe to the %s topic", global.Project, global.Project, config.TopicDriftAlerts)
			}
			if recent < 0 {
				return usagef("--recent %s: want a positive duration", recent)
			}
			if dashboard == "" {
				dashboard = os.Getenv("MEGA_MONITORING_DASHBOARD")
			}
			if dashboard == "" {
				st, err := stack.Load(global.Dir)
				if err != nil {
					return fmt.Errorf("alerts: %w (or set MEGA_MONITORING_DASHBOARD=http://host:port)", err)
				}
				dashboard = st.Endpoints.Dashboard
			}
			fctx, cancel := context.WithTimeout(cmd.Context(), probeTimeout)
			defer cancel()
			all, err := monitoring.FetchIncidents(fctx, dashboard, "")
			if err != nil {
				return fmt.Errorf("alerts: monitoring at %s did not answer within %s: %w", dashboard, probeTimeout, err)
			}
			out := alertsOutput{Dashboard: dashboard, Open: []monitoring.Incident{}, Recent: []monitoring.Incident{}}
			since := time.Now().Add(-recent)
			for _, in := range all {
				switch {
				case in.State == monitoring.StateOpen:
					out.Open = append(out.Open, in)
				case in.EndedAt != nil && in.EndedAt.After(since):
					out.Recent = append(out.Recent, in)
				}
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			return printIncidents(cmd.OutOrStdout(), out, recent)
		},
	}
	cmd.Flags().StringVar(&dashboard, "dashboard", "", "address of the local monitoring dashboard (default $MEGA_MONITORING_DASHBOARD)")
	cmd.Flags().DurationVar(&recent, "recent", 24*time.Hour, "also list incidents closed within this time")
	cmd.AddCommand(newAlertsEmulatorCmd())
	return cmd
}

func printIncidents(w io.Writer, out alertsOutput, recent time.Duration) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "%d open, %d closed in the last %s (dashboard %s)\n", len(out.Open), len(out.Recent), recent, out.Dashboard)
	if len(out.Open)+len(out.Recent) == 0 {
		return tw.Flush()
	}
	fmt.Fprintln(tw, "STATE\tINCIDENT\tPOLICY\tCONDITION\tSERIES\tVALUE\tTHRESHOLD\tSTARTED\tENDED")
	for _, in := range append(append([]monitoring.Incident{}, out.Open...), out.Recent...) {
		ended := "-"
		if in.EndedAt != nil {
			ended = in.EndedAt.Local().Format("01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.4g\t%s %.4g\t%s\t%s\n", in.State, in.ID, in.PolicyName, in.ConditionName,
			seriesText(in), in.Observed, comparisonSymbol(in.Comparison), in.Threshold, in.StartedAt.Local().Format("01-02 15:04:05"), ended)
	}
	return tw.Flush()
}

func seriesText(in monitoring.Incident) string {
	keys := make([]string, 0, len(in.MetricLabels))
	for k := range in.MetricLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + in.MetricLabels[k]
	}
	return strings.TrimPrefix(in.MetricType, "custom.googleapis.com/megapipe/") + "{" + strings.Join(parts, ",") + "}"
}

func comparisonSymbol(c string) string {
	switch c {
	case "COMPARISON_GT":
		return ">"
	case "COMPARISON_GE":
		return ">="
	case "COMPARISON_LT":
		return "<"
	case "COMPARISON_LE":
		return "<="
	case "COMPARISON_EQ":
		return "=="
	case "COMPARISON_NE":
		return "!="
	}
	return c
}

// newAlertsEmulatorCmd runs the Monitoring emulator alone (the local stack
// runs it in-process); useful to try the dashboard or the metrics client.
func newAlertsEmulatorCmd() *cobra.Command {
	var grpcAddr, httpAddr, state, project string
	var empty bool
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run the local Cloud Monitoring emulator alone (the stack runs it in-process)",
		Long: `emulator serves the Monitoring v3 gRPC API on --grpc (point the code at it with
MEGA_MONITORING_ENDPOINT) and the dashboard and JSON API on --http (MEGA_MONITORING_DASHBOARD for
mega alerts). Incident notifications go to the Pub/Sub emulator named by PUBSUB_EMULATOR_HOST.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if state == "" {
				state = filepath.Join(global.Dir, "monitoring.json")
			}
			srv, err := monitoring.NewServer(monitoring.Options{StateFile: state, Project: project, Empty: empty,
				Logger: slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))})
			if err != nil {
				return err
			}
			gl, err := net.Listen("tcp", grpcAddr)
			if err != nil {
				return fmt.Errorf("alerts emulator: %w", err)
			}
			hl, err := net.Listen("tcp", httpAddr)
			if err != nil {
				gl.Close()
				return fmt.Errorf("alerts emulator: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "MEGA_MONITORING_ENDPOINT=%s\nMEGA_MONITORING_DASHBOARD=http://%s\n", gl.Addr(), hl.Addr())
			return srv.Serve(cmd.Context(), gl, hl)
		},
	}
	cmd.Flags().StringVar(&grpcAddr, "grpc", "127.0.0.1:8088", "gRPC listen address")
	cmd.Flags().StringVar(&httpAddr, "http", "127.0.0.1:8089", "dashboard listen address")
	cmd.Flags().StringVar(&state, "state", "", "state file (default <dir>/monitoring.json)")
	cmd.Flags().StringVar(&project, "project-id", config.DefaultProject, "project of the default alert policies")
	cmd.Flags().BoolVar(&empty, "empty", false, "start without Megapipe's alert policies and dashboard")
	return cmd
}
