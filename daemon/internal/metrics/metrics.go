// Package metrics defines the Prometheus metrics Sirocco exports at
// /metrics. Each component gets its own small set, registered on the
// registry the server owns (never the global one, so several servers in
// one test process do not collide).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Engine is what the engine counts.
type Engine struct {
	ExecutionsStarted prometheus.Counter
	// ExecutionsEnded counts executions reaching a final state, by state.
	ExecutionsEnded *prometheus.CounterVec
	// ResultsApplied counts action results applied; duplicates dropped
	// are counted apart, since many of them point at a redelivery storm.
	ResultsApplied    prometheus.Counter
	ResultsDuplicate  prometheus.Counter
	ResultApplySecs   prometheus.Histogram
	ActionsDispatched prometheus.Counter
	OutboxPublished   prometheus.Counter
	TimersFired       *prometheus.CounterVec
}

// Executor is what an executor host counts.
type Executor struct {
	// ActionsRun counts finished runs by plugin and outcome (success,
	// error, lost, handed_back).
	ActionsRun *prometheus.CounterVec
	// ActionSecs is the duration of runs by plugin and action: which
	// action of which plugin is slow.
	ActionSecs *prometheus.HistogramVec
	Running    prometheus.Gauge
}

// PluginHost is what a plugin host counts.
type PluginHost struct {
	// Restarts counts plugin processes relaunched after they died, by
	// plugin: a plugin that keeps crashing shows here before its failed
	// runs pile up.
	Restarts *prometheus.CounterVec
}

// NewPluginHost registers a plugin host's metrics on reg.
func NewPluginHost(reg prometheus.Registerer) *PluginHost {
	m := &PluginHost{
		Restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sirocco_plugin_restarts_total", Help: "Plugin processes relaunched after they died, by plugin."}, []string{"plugin"}),
	}
	reg.MustRegister(m.Restarts)
	return m
}

// NewEngine registers the engine's metrics on reg.
func NewEngine(reg prometheus.Registerer) *Engine {
	m := &Engine{
		ExecutionsStarted: prometheus.NewCounter(prometheus.CounterOpts{Name: "sirocco_executions_started_total", Help: "Workflow executions started."}),
		ExecutionsEnded:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sirocco_executions_ended_total", Help: "Workflow executions that reached a final state, by state."}, []string{"state"}),
		ResultsApplied:    prometheus.NewCounter(prometheus.CounterOpts{Name: "sirocco_results_applied_total", Help: "Action results applied to their executions."}),
		ResultsDuplicate:  prometheus.NewCounter(prometheus.CounterOpts{Name: "sirocco_results_duplicate_total", Help: "Action results dropped because they were applied already."}),
		ResultApplySecs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sirocco_result_apply_seconds", Help: "Time to apply one action result (one transaction).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		ActionsDispatched: prometheus.NewCounter(prometheus.CounterOpts{Name: "sirocco_actions_dispatched_total", Help: "Action requests written to the outbox."}),
		OutboxPublished:   prometheus.NewCounter(prometheus.CounterOpts{Name: "sirocco_outbox_published_total", Help: "Outbox messages published to NATS."}),
		TimersFired:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sirocco_timers_fired_total", Help: "Durable timers fired, by kind."}, []string{"kind"}),
	}
	reg.MustRegister(m.ExecutionsStarted, m.ExecutionsEnded, m.ResultsApplied, m.ResultsDuplicate, m.ResultApplySecs,
		m.ActionsDispatched, m.OutboxPublished, m.TimersFired)
	return m
}

// NewExecutor registers an executor host's metrics on reg.
func NewExecutor(reg prometheus.Registerer) *Executor {
	m := &Executor{
		ActionsRun: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sirocco_executor_actions_total", Help: "Action runs finished on this host, by plugin and outcome."}, []string{"plugin", "outcome"}),
		ActionSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sirocco_executor_action_seconds", Help: "Duration of action runs on this host, by plugin and action.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 12)}, []string{"plugin", "action"}),
		Running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sirocco_executor_running_actions", Help: "Actions running on this host now."}),
	}
	reg.MustRegister(m.ActionsRun, m.ActionSecs, m.Running)
	return m
}

// NewRegistry is a registry with the Go runtime and process collectors,
// the base every server adds its components' metrics to.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves reg in the Prometheus text format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
