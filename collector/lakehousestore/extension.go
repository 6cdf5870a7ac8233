package lakehousestore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"
)

// Extension is the lakehouse store as a collector extension: it opens the
// Store at start (chDB session, migrations, WAL replay, SQL endpoint) and
// closes it at shutdown, after the exporters. Exporters, the console and
// the alerts receiver find it through the host and call Store().
type Extension struct {
	cfg *Config
	log *zap.Logger

	mu      sync.Mutex
	store   *Store
	sql     *sqlServer
	openErr error
}

// ErrUnavailable wraps why the store could not open at all (its WAL
// directory is unusable or locked by another collector; a missing or
// mismatched libchdb.so is not such a case: the store then keeps accepting
// into its WAL). The collector keeps running: exporters return it as a
// retryable error, so clients keep what they sent and resend it.
var ErrUnavailable = errors.New("lakehouse store unavailable")

// Provider is what users of the extension look for on the host.
type Provider interface {
	Store() (*Store, error)
}

// Start implements component.Component.
func (e *Extension) Start(_ context.Context, _ component.Host) error {
	if e.cfg.QueueCheckDir != "" {
		if _, err := checkQueueDir(e.cfg.QueueCheckDir, e.log); err != nil {
			return err
		}
	}
	s, err := Open(e.cfg, e.log)
	if err != nil {
		e.mu.Lock()
		e.openErr = fmt.Errorf("%w: %w", ErrUnavailable, err)
		e.mu.Unlock()
		e.log.Error("lakehouse: store could not open; the collector keeps running and refuses records (retryably, so clients keep and resend them) until this is fixed and the collector restarted", zap.Error(err))
		return nil
	}
	if e.cfg.SQL.Endpoint != "" && s.ro != nil {
		tok, err := EnsureToken(e.cfg.TokenPath())
		if err != nil {
			s.Close()
			return err
		}
		srv, err := startSQL(s, e.cfg.SQL.Endpoint, tok)
		if err != nil {
			s.Close()
			return err
		}
		e.sql = srv
		e.log.Info("lakehouse: read-only SQL endpoint", zap.String("endpoint", "http://"+srv.Addr()+"/v1/sql"), zap.String("token_file", e.cfg.TokenPath()))
	}
	e.mu.Lock()
	e.store = s
	e.mu.Unlock()
	return nil
}

// Shutdown implements component.Component.
func (e *Extension) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sql != nil {
		e.sql.close()
	}
	if e.store == nil {
		return nil
	}
	err := e.store.Close()
	e.store = nil
	return err
}

// Store returns the open store.
func (e *Extension) Store() (*Store, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.store == nil {
		if e.openErr != nil {
			return nil, e.openErr
		}
		return nil, errors.New("lakehouse store is not started")
	}
	return e.store, nil
}

// FromHost finds the lakehouse store extension id on the host.
func FromHost(host component.Host, id component.ID) (*Store, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("store: extension %s is not configured (add it under extensions and service.extensions)", id)
	}
	p, ok := ext.(Provider)
	if !ok {
		return nil, fmt.Errorf("store: extension %s is not a lakehouse store", id)
	}
	return p.Store()
}
