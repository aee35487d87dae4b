// Package state measures what is true now, where it is kept: executions
// and tasks by state and the outbox in the database, the work queues in
// JetStream, and how long the database's transactions take. It is apart
// from package metrics, whose counters every component imports, so that
// those components do not depend on the store and the transport.
package state

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// scrapeTimeout bounds what one scrape may spend reading the database and
// JetStream; a slow answer leaves those metrics out of the scrape rather
// than making Prometheus time out on all of them.
const scrapeTimeout = 3 * time.Second

// timedStore observes the duration of every transaction.
type timedStore struct {
	store.Store
	secs *prometheus.HistogramVec
}

// TimeTransactions wraps st so that each transaction's duration, commit
// included, is observed as sirocco_engine_transaction_seconds. Every
// change of an execution's state is one engine transaction (so are the
// reads the API makes through the engine), so this is the latency that
// bounds how fast workflows move.
func TimeTransactions(st store.Store, reg prometheus.Registerer) store.Store {
	secs := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sirocco_engine_transaction_seconds",
		Help:    "Duration of the engine's database transactions, by outcome (commit or rollback).",
		Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16),
	}, []string{"outcome"})
	reg.MustRegister(secs)
	return timedStore{Store: st, secs: secs}
}

func (s timedStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	begin := time.Now()
	err := s.Store.InTx(ctx, fn)
	outcome := "commit"
	if err != nil {
		outcome = "rollback"
	}
	s.secs.WithLabelValues(outcome).Observe(time.Since(begin).Seconds())
	return err
}

// QueueReader is what the queue metrics read: transport.Conn.
type QueueReader interface {
	QueueDepths(ctx context.Context) ([]transport.QueueDepth, uint64, error)
}

// stateCollector reads, at each scrape, what is true now rather than what
// happened: executions and tasks by state and the outbox from the
// database, the work queues from JetStream. Both are shared by every
// process, so each process reports the same, global numbers: aggregate
// them across instances with max, not sum.
type stateCollector struct {
	st     store.Store // nil in a process without a database
	queues QueueReader
	log    hclog.Logger

	executions, tasks, outbox, actionQueue, resultQueue *prometheus.Desc
}

// Register registers the collector of executions and tasks by state,
// outbox and queue depths. st may be nil (an executor-only process): then
// only the queues are reported.
func Register(reg prometheus.Registerer, st store.Store, queues QueueReader, log hclog.Logger) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	reg.MustRegister(&stateCollector{
		st: st, queues: queues, log: log,
		executions: prometheus.NewDesc("sirocco_executions", "Workflow executions by state, in the database (the same from every process).", []string{"state"}, nil),
		tasks:      prometheus.NewDesc("sirocco_task_executions", "Task executions by state, in the database (the same from every process).", []string{"state"}, nil),
		outbox:     prometheus.NewDesc("sirocco_outbox_messages", "Messages committed to the outbox and not yet published to NATS.", nil, nil),
		actionQueue: prometheus.NewDesc("sirocco_action_queue_messages",
			"Action requests in a work queue (waiting for an executor host, or running and not yet acknowledged), by executor pool and plugin.", []string{"target", "plugin"}, nil),
		resultQueue: prometheus.NewDesc("sirocco_result_queue_messages", "Action results waiting for an engine to apply them.", nil, nil),
	})
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.executions, c.tasks, c.outbox, c.actionQueue, c.resultQueue} {
		ch <- d
	}
}

// Collect reports what it can read; what it cannot is logged and left
// out, so a database outage does not also blind the other metrics.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	if c.st != nil {
		var counts store.Counts
		err := c.st.InTx(ctx, func(tx store.Tx) error {
			counter, ok := tx.(store.Counter)
			if !ok {
				return nil
			}
			var err error
			counts, err = counter.Counts()
			return err
		})
		if err != nil {
			c.log.Warn("metrics: cannot count executions and tasks", "error", err)
		} else {
			for state, n := range counts.Executions {
				ch <- prometheus.MustNewConstMetric(c.executions, prometheus.GaugeValue, float64(n), state)
			}
			for state, n := range counts.Tasks {
				ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(n), state)
			}
			ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(counts.Outbox))
		}
	}
	if c.queues == nil {
		return
	}
	actions, results, err := c.queues.QueueDepths(ctx)
	if err != nil {
		c.log.Warn("metrics: cannot read the queue depths", "error", err)
		return
	}
	for _, q := range actions {
		ch <- prometheus.MustNewConstMetric(c.actionQueue, prometheus.GaugeValue, float64(q.Messages), q.Target, q.Plugin)
	}
	ch <- prometheus.MustNewConstMetric(c.resultQueue, prometheus.GaugeValue, float64(results))
}
