// Package logging configures log/slog once at the program edge: JSON lines
// with Cloud Logging's keys (severity, message, time), and the run id, event
// id and step carried by the context onto every line.
//
// Every process that runs Megapipe code installs the handler the same way,
// with Install (or InstallFromEnv, which the function.go that `mega stage`
// generates calls in init, and `mega functions serve` calls at start): JSON
// lines on standard error, which Cloud Functions and Cloud Run hand to Cloud
// Logging, at the level MEGA_LOG_LEVEL names (set by Terraform). An unknown
// level is not fatal (a log level must not stop a function): the level is
// info and the first line says the value was refused.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// LevelEnv is the environment variable that sets the log level.
const LevelEnv = "MEGA_LOG_LEVEL"

type ctxKey struct{}

// With returns a context whose log lines carry the given attributes (for
// example "run_id", id, "event_id", id).
func With(ctx context.Context, args ...any) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	attrs := append(append([]slog.Attr(nil), prev...), argsToAttrs(args)...)
	return context.WithValue(ctx, ctxKey{}, attrs)
}

func argsToAttrs(args []any) []slog.Attr {
	var out []slog.Attr
	for len(args) > 0 {
		switch a := args[0].(type) {
		case slog.Attr:
			out = append(out, a)
			args = args[1:]
		case string:
			if len(args) < 2 {
				out = append(out, slog.String("!BADKEY", a))
				args = nil
				continue
			}
			out = append(out, slog.Any(a, args[1]))
			args = args[2:]
		default:
			out = append(out, slog.Any("!BADKEY", a))
			args = args[1:]
		}
	}
	return out
}

// Level parses debug, info, warn or error (default info).
func Level(s string) slog.Level {
	l, _ := ParseLevel(s)
	return l
}

// ParseLevel parses debug, info, warn (warning) or error, in any case; ""
// is info. Anything else is an error, with info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// NewHandler returns a JSON handler in Cloud Logging's shape that adds the
// context's attributes to each record.
func NewHandler(w io.Writer, level slog.Level) slog.Handler {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.MessageKey:
				a.Key = "message"
			case slog.LevelKey:
				a.Key = "severity"
				if l, ok := a.Value.Any().(slog.Level); ok {
					a.Value = slog.StringValue(severity(l))
				}
			}
			return a
		},
	})
	return ctxHandler{h}
}

func severity(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// Setup installs the handler as slog's default.
func Setup(w io.Writer, level string) {
	slog.SetDefault(slog.New(NewHandler(w, Level(level))))
}

// Install installs, as slog's default, the JSON handler writing to w at the
// level getenv(LevelEnv) names, and returns the logger. An unknown level
// logs a warning and uses info.
func Install(w io.Writer, getenv func(string) string) *slog.Logger {
	v := getenv(LevelEnv)
	level, err := ParseLevel(v)
	log := slog.New(NewHandler(w, level))
	slog.SetDefault(log)
	if err != nil {
		log.Warn("ignoring "+LevelEnv+"; logging at info", "error", err)
	}
	return log
}

// InstallFromEnv is Install(os.Stderr, os.Getenv): what every function
// process calls once at start.
func InstallFromEnv() *slog.Logger { return Install(os.Stderr, os.Getenv) }

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs, ok := ctx.Value(ctxKey{}).([]slog.Attr); ok {
		r.AddAttrs(attrs...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(attrs)}
}

func (h ctxHandler) WithGroup(name string) slog.Handler { return ctxHandler{h.Handler.WithGroup(name)} }
