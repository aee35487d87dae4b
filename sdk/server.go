package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sirocco-wf/sirocco/pluginapi"
	pluginv1 "github.com/sirocco-wf/sirocco/pluginapi/v1"
)

// HeartbeatInterval is how often the SDK sends a heartbeat while an action
// runs, so the host can tell a slow action from a stuck plugin.
var HeartbeatInterval = 10 * time.Second

// capabilities are the optional protocol features this SDK implements.
var capabilities = []string{"cancel", "heartbeat", "progress", "log"}

// server implements the v1 service on top of a Plugin's actions.
type server struct {
	pluginv1.UnimplementedPluginServer

	plugin  Plugin
	actions map[string]*ActionDef
	logger  hclog.Logger

	mu      sync.Mutex
	running map[string]context.CancelFunc // by action execution id
}

var _ pluginv1.PluginServer = (*server)(nil)

func newServer(p Plugin, logger hclog.Logger) *server {
	s := &server{
		plugin:  p,
		actions: make(map[string]*ActionDef, len(p.Actions)),
		logger:  logger,
		running: map[string]context.CancelFunc{},
	}
	for i := range p.Actions {
		s.actions[p.Actions[i].name] = &p.Actions[i]
	}
	return s
}

func (s *server) GetInfo(context.Context, *pluginv1.GetInfoRequest) (*pluginv1.GetInfoResponse, error) {
	return &pluginv1.GetInfoResponse{
		Name:          s.plugin.Name,
		Version:       s.plugin.Version,
		SdkVersion:    Version,
		ProtocolMinor: pluginapi.ProtocolMinor,
		Capabilities:  capabilities,
	}, nil
}

func (s *server) DescribeActions(context.Context, *pluginv1.DescribeActionsRequest) (*pluginv1.DescribeActionsResponse, error) {
	resp := &pluginv1.DescribeActionsResponse{}
	for _, a := range s.plugin.Actions {
		spec := &pluginv1.ActionSpec{
			Name:         a.name,
			Description:  a.description,
			InputSchema:  string(a.inputSchema),
			OutputSchema: string(a.outputSchema),
			Async:        a.async,
			Cancellable:  a.cancellable,
			Idempotent:   a.idempotent,
		}
		if a.timeout > 0 {
			spec.DefaultTimeout = durationpb.New(a.timeout)
		}
		resp.Actions = append(resp.Actions, spec)
	}
	return resp, nil
}

func (s *server) Cancel(_ context.Context, req *pluginv1.CancelRequest) (*pluginv1.CancelResponse, error) {
	s.mu.Lock()
	cancel, ok := s.running[req.GetActionExecutionId()]
	s.mu.Unlock()
	if ok {
		cancel()
	}
	return &pluginv1.CancelResponse{Found: ok}, nil
}

// Execute runs one action. Every outcome of the action, including a panic,
// bad input and an unknown action name, is a completed event with an error:
// a gRPC error would look to the host like a broken plugin.
func (s *server) Execute(req *pluginv1.ExecuteRequest, stream pluginv1.Plugin_ExecuteServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()

	events := &eventSender{stream: stream}
	defer events.close()

	exec := execFromProto(req.GetContext())
	if id := exec.ActionExecutionID; id != "" {
		s.mu.Lock()
		if _, dup := s.running[id]; !dup {
			s.running[id] = cancel
			defer func() {
				s.mu.Lock()
				delete(s.running, id)
				s.mu.Unlock()
			}()
		}
		s.mu.Unlock()
	}

	a, ok := s.actions[req.GetAction()]
	if !ok {
		return events.completeError(wireError{
			Type:    ErrTypeUnknownAction,
			Message: fmt.Sprintf("plugin %q does not serve action %q", s.plugin.Name, req.GetAction()),
		})
	}
	if err := events.send(&pluginv1.ExecuteEvent{Event: &pluginv1.ExecuteEvent_Started{Started: &pluginv1.Started{}}}); err != nil {
		return fmt.Errorf("send started: %w", err)
	}

	stopBeats := events.beatEvery(ctx, HeartbeatInterval)
	rc := &runContext{
		Context: ctx,
		exec:    exec,
		events:  events,
		logger:  newRunLogger(s.plugin, a.name, exec, events),
	}
	out, err := s.invoke(rc, a, req.GetInput())
	stopBeats()

	if err != nil {
		return events.completeError(toWireError(err))
	}
	data, merr := json.Marshal(out)
	if merr != nil {
		return events.completeError(wireError{
			Type:    ErrTypeOutput,
			Message: fmt.Sprintf("action %s returned an output that is not JSON-encodable: %v", a.name, merr),
		})
	}
	return events.send(&pluginv1.ExecuteEvent{Event: &pluginv1.ExecuteEvent_Completed{
		Completed: &pluginv1.Completed{Result: &pluginv1.Completed_Output{Output: data}},
	}})
}

// invoke runs the action and turns a panic into an ActionPanic error, so one
// bad input cannot take down every run the process is serving.
func (s *server) invoke(rc *runContext, a *ActionDef, input []byte) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			stack := string(debug.Stack())
			rc.logger.Error("action panicked", "panic", fmt.Sprint(r), "stack", stack)
			out = nil
			err = &Error{
				Type:    ErrTypePanic,
				Message: fmt.Sprintf("action %s panicked: %v", a.name, r),
				Data:    map[string]any{"panic": fmt.Sprint(r), "stack": stack},
			}
		}
	}()
	return a.run(rc, input)
}

func execFromProto(c *pluginv1.ExecutionContext) ExecContext {
	return ExecContext{
		WorkflowName:        c.GetWorkflowName(),
		WorkflowExecutionID: c.GetWorkflowExecutionId(),
		TaskExecutionID:     c.GetTaskExecutionId(),
		ActionExecutionID:   c.GetActionExecutionId(),
		Attempt:             int(c.GetAttempt()),
		WithItemsIndex:      int(c.GetWithItemsIndex()),
		CallbackURL:         c.GetCallbackUrl(),
	}
}

// eventSender serialises sends on one Execute stream (gRPC streams are not
// safe for concurrent Send) and drops events after the run completed: an
// action may leave goroutines behind that still report progress, and a Send
// after the handler returned is invalid.
type eventSender struct {
	mu     sync.Mutex
	stream pluginv1.Plugin_ExecuteServer
	done   bool
}

func (e *eventSender) send(ev *pluginv1.ExecuteEvent) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return nil
	}
	if _, final := ev.Event.(*pluginv1.ExecuteEvent_Completed); final {
		e.done = true
	}
	return e.stream.Send(ev)
}

func (e *eventSender) close() {
	e.mu.Lock()
	e.done = true
	e.mu.Unlock()
}

func (e *eventSender) completeError(w wireError) error {
	return e.send(&pluginv1.ExecuteEvent{Event: &pluginv1.ExecuteEvent_Completed{
		Completed: &pluginv1.Completed{Result: &pluginv1.Completed_Error{Error: &pluginv1.ActionError{
			Type:      w.Type,
			Message:   w.Message,
			Data:      w.Data,
			Retryable: w.Retryable,
		}}},
	}})
}

// Event sends on behalf of the action ignore errors: a broken stream also
// cancels the run's context, which is how the action learns of it.
func (e *eventSender) progress(percent float64, msg string) {
	_ = e.send(&pluginv1.ExecuteEvent{Event: &pluginv1.ExecuteEvent_Progress{
		Progress: &pluginv1.Progress{Percent: percent, Message: msg},
	}})
}

func (e *eventSender) heartbeat() {
	_ = e.send(&pluginv1.ExecuteEvent{Event: &pluginv1.ExecuteEvent_Heartbeat{Heartbeat: &pluginv1.Heartbeat{}}})
}

func (e *eventSender) log(level, msg string) {
	_ = e.send(&pluginv1.ExecuteEvent{Event: &pluginv1.ExecuteEvent_Log{Log: &pluginv1.Log{Level: level, Message: msg}}})
}

// beatEvery sends heartbeats until the returned stop function is called;
// stop waits for the sending goroutine to end.
func (e *eventSender) beatEvery(ctx context.Context, every time.Duration) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				e.heartbeat()
			}
		}
	}()
	return func() { cancel(); <-done }
}
