// Package logging configures log/slog once at the program edge: JSON lines
// with Cloud Logging's keys (severity, message, time), and the run id, event
// id and step carried by the context onto every line.
package logging

import (
	"context"
	"io"
	"log/slog"
	"strings"
)

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
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
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
