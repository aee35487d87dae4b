package server

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/engine"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// storeProbeTimeout bounds the query /readyz sends to the database, so a
// database that hangs makes the probe answer 503, not time out.
const storeProbeTimeout = 2 * time.Second

// readiness is what GET /readyz reports for this process. Run fills it in
// as the components of the process's roles start; every probe then checks
// what can change later (NATS, the database, the results subscription)
// afresh.
type readiness struct {
	conn     *transport.Conn
	log      hclog.Logger
	engine   bool // the engine role: results must be consumed
	executor bool // the executor role: the host must be registered

	st         atomic.Pointer[storeRef] // set once the store is open
	executorUp atomic.Bool              // set once the host registered
	stopping   atomic.Bool              // set when the process stops
}

type storeRef struct{ store.Store }

func newReadiness(cfg Config, conn *transport.Conn, log hclog.Logger) *readiness {
	return &readiness{conn: conn, log: log, engine: cfg.has(RoleEngine), executor: cfg.has(RoleExecutor)}
}

func (r *readiness) storeOpened(st store.Store) { r.st.Store(&storeRef{st}) }
func (r *readiness) executorRegistered()        { r.executorUp.Store(true) }
func (r *readiness) stop()                      { r.stopping.Store(true) }

// ReadyChecks implements api.Readiness.
func (r *readiness) ReadyChecks(ctx context.Context) []api.ReadyCheck {
	var out []api.ReadyCheck
	add := func(name string, ok bool, why string) {
		c := api.ReadyCheck{Name: name, Ready: ok}
		if !ok {
			c.Detail = why
		}
		out = append(out, c)
	}
	if r.stopping.Load() {
		add("process", false, "shutting down")
	}
	add("nats", r.conn.Connected(), "not connected to NATS (reconnecting)")
	// Only processes with the API reach here, and the API always has a
	// store; it is nil only while Run is still opening it.
	ref := r.st.Load()
	if ref == nil {
		add("store", false, "the database is not open yet")
	} else {
		ok, why := r.probeStore(ctx, ref.Store)
		add("store", ok, why)
	}
	if r.engine {
		add("engine", r.conn.ConsumingResults(), "the engine does not consume results yet")
	}
	if r.executor {
		add("executor", r.executorUp.Load(), "the executor host has not registered yet")
	}
	return out
}

// probeStore sends the database one cheap query. The error is logged at
// debug level only: probes come every few seconds, and the outage itself
// is logged by the components that need the database.
func (r *readiness) probeStore(ctx context.Context, st store.Store) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, storeProbeTimeout)
	defer cancel()
	err := st.InTx(ctx, func(tx store.Tx) error {
		_, _, err := tx.NextTimerAt()
		return err
	})
	if err == nil {
		return true, ""
	}
	r.log.Debug("readiness: the database did not answer", "error", err)
	if errors.Is(err, context.DeadlineExceeded) {
		return false, "the database did not answer a query within " + storeProbeTimeout.String()
	}
	return false, "the database did not answer a query (the server log at debug level has the error)"
}

// apiBackend is what the API is given: the engine, whose methods it calls,
// and the readiness of the process around it.
type apiBackend struct {
	*engine.Engine
	*readiness
}
