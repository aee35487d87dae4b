package sdk

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// ExecContext says which run of which workflow task an action call is. It
// lets an action tag what it creates, build idempotency keys from the action
// execution id and attempt, or hand the callback URL to a remote system
// (async actions).
type ExecContext struct {
	// WorkflowName names the workflow the task belongs to (Mistral's
	// Mistral-Workflow-Name header). Hosts older than protocol minor 1 do
	// not send it and it is empty.
	WorkflowName        string
	WorkflowExecutionID string
	TaskExecutionID     string
	ActionExecutionID   string
	// Attempt counts runs of this action execution, from 1.
	Attempt int
	// WithItemsIndex is the item's index within a with-items task.
	WithItemsIndex int
	// CallbackURL is where an async action reports its result.
	CallbackURL string
}

// Context is what an action receives. It is a context.Context that is
// cancelled when the run's deadline passes, the run is cancelled or the host
// goes away; long actions must watch Done. Through it an action reports
// progress, proves it is alive and logs.
type Context interface {
	context.Context
	// Exec describes the run.
	Exec() ExecContext
	// Progress reports how far the run is; percent is clamped to [0, 100].
	// The host shows it on the action execution.
	Progress(percent float64, message string)
	// Heartbeat tells the host the run is alive. The SDK already sends one
	// periodically while an action runs; call it when a step is known to
	// have made progress.
	Heartbeat()
	// Logger logs to the host log (go-plugin forwards the plugin's stderr
	// under the plugin's name) and, at info and above, to the run's own event
	// stream so the lines can be shown with the action execution.
	Logger() hclog.Logger
}

// runContext is the Context of one Execute call.
type runContext struct {
	context.Context
	exec   ExecContext
	events *eventSender
	logger hclog.Logger
}

var _ Context = (*runContext)(nil)

func (c *runContext) Exec() ExecContext    { return c.exec }
func (c *runContext) Logger() hclog.Logger { return c.logger }
func (c *runContext) Heartbeat()           { c.events.heartbeat() }

func (c *runContext) Progress(percent float64, message string) {
	switch {
	case percent < 0 || percent != percent: // NaN as well
		percent = 0
	case percent > 100:
		percent = 100
	}
	c.events.progress(percent, message)
}

// stderrMu serialises every logger's writes to stderr: each run has its own
// intercept logger (for its own stream sink) but they share the one pipe the
// host reads line by line, and a torn line would not parse as JSON.
var stderrMu sync.Mutex

// logOutput is where plugin logs go; tests may swap it.
var logOutput io.Writer = os.Stderr

// newBaseLogger is the plugin's process-wide logger, named plugin.<name>.
// JSON lines on stderr are what go-plugin's host parses and re-logs with
// their level and key/value pairs.
func newBaseLogger(p Plugin) hclog.Logger {
	return hclog.New(loggerOptions(p))
}

func loggerOptions(p Plugin) *hclog.LoggerOptions {
	level := p.LogLevel
	if level == hclog.NoLevel {
		level = hclog.Debug
	}
	return &hclog.LoggerOptions{
		Name:       "plugin." + p.Name,
		Level:      level,
		Output:     logOutput,
		JSONFormat: true,
		Mutex:      &stderrMu,
	}
}

// newRunLogger returns a logger for one run that writes like the base logger
// and also copies info-and-above lines to the run's event stream.
func newRunLogger(p Plugin, action string, exec ExecContext, events *eventSender) hclog.Logger {
	il := hclog.NewInterceptLogger(loggerOptions(p))
	il.RegisterSink(&streamSink{events: events})
	return il.With("action", action, "action_execution_id", exec.ActionExecutionID)
}

// streamSink forwards log lines to the Execute stream as log events.
type streamSink struct {
	events *eventSender
}

func (s *streamSink) Accept(_ string, level hclog.Level, msg string, args ...interface{}) {
	if level < hclog.Info {
		return
	}
	var b strings.Builder
	b.WriteString(msg)
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == "action" || k == "action_execution_id" {
			continue // the host knows which run this is
		}
		fmt.Fprintf(&b, " %v=%v", args[i], args[i+1])
	}
	s.events.log(strings.ToLower(level.String()), b.String())
}
