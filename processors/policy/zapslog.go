package policy

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapHandler routes the engine's slog lines (bundle loads, rejected reloads)
// into the collector's zap logger, so they appear with the component's
// fields. policy/engine stays free of collector types.
type zapHandler struct {
	l     *zap.Logger
	attrs []zap.Field
	group string
}

func newSlog(l *zap.Logger) *slog.Logger { return slog.New(&zapHandler{l: l}) }

func (h *zapHandler) Enabled(_ context.Context, lvl slog.Level) bool {
	return h.l.Core().Enabled(zapLevel(lvl))
}

func (h *zapHandler) Handle(_ context.Context, r slog.Record) error {
	fields := append([]zap.Field(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		fields = append(fields, h.field(a))
		return true
	})
	if ce := h.l.Check(zapLevel(r.Level), r.Message); ce != nil {
		ce.Write(fields...)
	}
	return nil
}

func (h *zapHandler) field(a slog.Attr) zap.Field {
	k := a.Key
	if h.group != "" {
		k = h.group + "." + k
	}
	return zap.Any(k, a.Value.Resolve().Any())
}

func (h *zapHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]zap.Field(nil), h.attrs...), make([]zap.Field, 0, len(as))...)
	for _, a := range as {
		n.attrs = append(n.attrs, h.field(a))
	}
	return &n
}

func (h *zapHandler) WithGroup(name string) slog.Handler {
	n := *h
	if n.group != "" {
		name = n.group + "." + name
	}
	n.group = name
	return &n
}

func zapLevel(l slog.Level) zapcore.Level {
	switch {
	case l >= slog.LevelError:
		return zapcore.ErrorLevel
	case l >= slog.LevelWarn:
		return zapcore.WarnLevel
	case l >= slog.LevelInfo:
		return zapcore.InfoLevel
	}
	return zapcore.DebugLevel
}
