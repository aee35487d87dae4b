// Package sdktest runs a plugin's actions through the real plugin protocol
// (go-plugin's gRPC transport, the v1 service, the SDK's server) inside the
// test process, so a plugin author tests exactly what the host will call
// without building a binary.
//
//	h := sdktest.New(t, sdk.Plugin{Name: "http", Version: "0.1.0", Actions: ...})
//	run := h.Execute(ctx, "std.http", map[string]any{"url": srv.URL})
//	if run.Error != nil { ... }
package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/sirocco-wf/sirocco/pluginapi"
	pluginv1 "github.com/sirocco-wf/sirocco/pluginapi/v1"
	"github.com/sirocco-wf/sirocco/sdk"
)

// Harness is one plugin served in-process over gRPC. It is closed by the
// test's cleanup.
type Harness struct {
	t      testing.TB
	client pluginv1.PluginClient
}

// Info is what the plugin reports about itself.
type Info struct {
	Name, Version, SDKVersion string
	Capabilities              []string
}

// ActionSpec is an action as the plugin describes it.
type ActionSpec struct {
	Name, Description              string
	InputSchema, OutputSchema      json.RawMessage
	Async, Cancellable, Idempotent bool
	DefaultTimeout                 time.Duration
}

// Event is a non-final event of a run: "started", "progress", "log" or
// "heartbeat".
type Event struct {
	Kind    string
	Percent float64
	Message string
	Level   string
}

// Error is a failed run.
type Error struct {
	Type, Message string
	Data          json.RawMessage
	Retryable     bool
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Run is the outcome of one Execute: exactly one of Output and Error is set
// when the protocol was followed.
type Run struct {
	Output json.RawMessage
	Error  *Error
	Events []Event
}

// Decode unmarshals the run's output into v; it fails the run's error if
// the run failed, so `require.NoError(t, run.Decode(&out))` reads well.
func (r Run) Decode(v any) error {
	if r.Error != nil {
		return r.Error
	}
	return json.Unmarshal(r.Output, v)
}

// New serves p over a real go-plugin gRPC connection for the length of the
// test. An invalid Plugin fails the test.
func New(t testing.TB, p sdk.Plugin) *Harness {
	t.Helper()
	set, err := sdk.PluginSet(p)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	client, server := plugin.TestPluginGRPCConn(t, false, set)
	t.Cleanup(func() { shutdown(client, server) })
	raw, err := client.Dispense(pluginapi.PluginName)
	if err != nil {
		t.Fatalf("sdktest: dispense: %v", err)
	}
	return &Harness{t: t, client: raw.(pluginv1.PluginClient)}
}

// shutdown stops the in-process server before closing the client, and in
// that order only. GRPCClient.Close asks the server to stop itself through
// go-plugin's controller RPC, whose handler runs GRPCServer.Stop on a server
// goroutine; a second Stop from the test would then touch the server's
// fields with nothing ordering the two (the race detector reports it). With
// the server stopped first, and its Serve goroutine seen to end, the
// client's shutdown call finds no server and only the client's own
// resources are released.
func shutdown(client *plugin.GRPCClient, server *plugin.GRPCServer) {
	server.Stop()
	<-server.DoneCh
	_ = client.Close()
}

// Info calls GetInfo.
func (h *Harness) Info(ctx context.Context) Info {
	h.t.Helper()
	resp, err := h.client.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		h.t.Fatalf("sdktest: GetInfo: %v", err)
	}
	return Info{
		Name:         resp.GetName(),
		Version:      resp.GetVersion(),
		SDKVersion:   resp.GetSdkVersion(),
		Capabilities: resp.GetCapabilities(),
	}
}

// Actions calls DescribeActions.
func (h *Harness) Actions(ctx context.Context) []ActionSpec {
	h.t.Helper()
	resp, err := h.client.DescribeActions(ctx, &pluginv1.DescribeActionsRequest{})
	if err != nil {
		h.t.Fatalf("sdktest: DescribeActions: %v", err)
	}
	var out []ActionSpec
	for _, a := range resp.GetActions() {
		out = append(out, ActionSpec{
			Name:           a.GetName(),
			Description:    a.GetDescription(),
			InputSchema:    json.RawMessage(a.GetInputSchema()),
			OutputSchema:   json.RawMessage(a.GetOutputSchema()),
			Async:          a.GetAsync(),
			Cancellable:    a.GetCancellable(),
			Idempotent:     a.GetIdempotent(),
			DefaultTimeout: a.GetDefaultTimeout().AsDuration(),
		})
	}
	return out
}

// Execute runs action with input (a json.RawMessage, []byte or any value
// encoded to JSON) and an execution context with fixed test ids.
func (h *Harness) Execute(ctx context.Context, action string, input any) Run {
	h.t.Helper()
	return h.ExecuteWith(ctx, action, input, sdk.ExecContext{
		WorkflowName:        "test_workflow",
		WorkflowExecutionID: "wf-exec-1",
		TaskExecutionID:     "task-exec-1",
		ActionExecutionID:   "action-exec-1",
		Attempt:             1,
	})
}

// ExecuteWith is Execute with a chosen execution context. ctx's deadline is
// the run's deadline, as it is on a host.
func (h *Harness) ExecuteWith(ctx context.Context, action string, input any, exec sdk.ExecContext) Run {
	h.t.Helper()
	var raw []byte
	switch v := input.(type) {
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			h.t.Fatalf("sdktest: encode input: %v", err)
		}
	}
	stream, err := h.client.Execute(ctx, &pluginv1.ExecuteRequest{
		Action: action,
		Input:  raw,
		Context: &pluginv1.ExecutionContext{
			WorkflowName:        exec.WorkflowName,
			WorkflowExecutionId: exec.WorkflowExecutionID,
			TaskExecutionId:     exec.TaskExecutionID,
			ActionExecutionId:   exec.ActionExecutionID,
			Attempt:             int32(exec.Attempt),
			WithItemsIndex:      int32(exec.WithItemsIndex),
			CallbackUrl:         exec.CallbackURL,
		},
	})
	if err != nil {
		h.t.Fatalf("sdktest: Execute: %v", err)
	}
	var run Run
	completed := false
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The protocol broke (deadline, transport): report it the way
			// a host would rather than failing the test, so tests can
			// assert on timeouts.
			run.Error = &Error{Type: "ProtocolError", Message: err.Error()}
			return run
		}
		switch e := ev.GetEvent().(type) {
		case *pluginv1.ExecuteEvent_Started:
			run.Events = append(run.Events, Event{Kind: "started"})
		case *pluginv1.ExecuteEvent_Progress:
			run.Events = append(run.Events, Event{Kind: "progress", Percent: e.Progress.GetPercent(), Message: e.Progress.GetMessage()})
		case *pluginv1.ExecuteEvent_Log:
			run.Events = append(run.Events, Event{Kind: "log", Level: e.Log.GetLevel(), Message: e.Log.GetMessage()})
		case *pluginv1.ExecuteEvent_Heartbeat:
			run.Events = append(run.Events, Event{Kind: "heartbeat"})
		case *pluginv1.ExecuteEvent_Completed:
			if completed {
				h.t.Errorf("sdktest: action %s sent a second completed event", action)
			}
			completed = true
			switch r := e.Completed.GetResult().(type) {
			case *pluginv1.Completed_Output:
				run.Output = r.Output
			case *pluginv1.Completed_Error:
				run.Error = &Error{
					Type:      r.Error.GetType(),
					Message:   r.Error.GetMessage(),
					Data:      r.Error.GetData(),
					Retryable: r.Error.GetRetryable(),
				}
			}
		default:
			h.t.Errorf("sdktest: unknown event %T", e)
		}
	}
	if !completed {
		h.t.Errorf("sdktest: action %s ended its stream without a completed event", action)
		run.Error = &Error{Type: "ProtocolError", Message: fmt.Sprintf("action %s sent no completed event", action)}
	}
	return run
}

// Cancel calls the protocol's Cancel for a running action execution id and
// reports whether the plugin knew it.
func (h *Harness) Cancel(ctx context.Context, actionExecutionID string) bool {
	h.t.Helper()
	resp, err := h.client.Cancel(ctx, &pluginv1.CancelRequest{ActionExecutionId: actionExecutionID})
	if err != nil {
		h.t.Fatalf("sdktest: Cancel: %v", err)
	}
	return resp.GetFound()
}
