package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/sdk"
	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type greetIn struct {
	Name     string  `json:"name" description:"who to greet"`
	Greeting *string `json:"greeting" description:"defaults to Hello"`
	Times    int     `json:"times,omitempty" default:"1"`
	Mode     string  `json:"mode,omitempty" enum:"plain,loud"`
}

type greetOut struct {
	Text string `json:"text"`
}

func greet(ctx sdk.Context, in greetIn) (greetOut, error) {
	g := "Hello"
	if in.Greeting != nil {
		g = *in.Greeting
	}
	ctx.Progress(50, "halfway")
	ctx.Logger().Info("greeting", "name", in.Name)
	switch in.Name {
	case "":
		return greetOut{}, errors.New("no name")
	case "panic":
		panic("boom")
	case "typed":
		return greetOut{}, sdk.Retryable(fmt.Errorf("wrapped: %w", sdk.NewError("Busy", "try later", map[string]int{"after": 3})))
	case "slow":
		<-ctx.Done()
		return greetOut{}, ctx.Err()
	case "exec":
		e := ctx.Exec()
		return greetOut{Text: fmt.Sprintf("%s/%s/%s/%s/%d/%d/%s", e.WorkflowName, e.WorkflowExecutionID, e.TaskExecutionID, e.ActionExecutionID, e.Attempt, e.WithItemsIndex, e.CallbackURL)}, nil
	}
	return greetOut{Text: g + ", " + in.Name}, nil
}

func testPlugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    "greet",
		Version: "1.2.3",
		Actions: []sdk.ActionDef{
			sdk.Action("greet.hello", "Greets someone.", greet, sdk.Idempotent(), sdk.Cancellable(), sdk.DefaultTimeout(time.Minute)),
		},
	}
}

func TestDescribe(t *testing.T) {
	ctx := context.Background()
	h := sdktest.New(t, testPlugin())

	info := h.Info(ctx)
	require.Equal(t, "greet", info.Name)
	require.Equal(t, "1.2.3", info.Version)
	require.Equal(t, sdk.Version, info.SDKVersion)

	actions := h.Actions(ctx)
	require.Len(t, actions, 1)
	a := actions[0]
	require.Equal(t, "greet.hello", a.Name)
	require.True(t, a.Idempotent)
	require.True(t, a.Cancellable)
	require.False(t, a.Async)
	require.Equal(t, time.Minute, a.DefaultTimeout)
	require.JSONEq(t, `{
		"type": "object",
		"additionalProperties": false,
		"required": ["name"],
		"properties": {
			"name": {"type": "string", "description": "who to greet"},
			"greeting": {"type": ["string", "null"], "description": "defaults to Hello"},
			"times": {"type": ["integer", "null"], "default": 1},
			"mode": {"type": ["string", "null"], "enum": ["plain", "loud", null]}
		}
	}`, string(a.InputSchema))
	require.JSONEq(t, `{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}`, string(a.OutputSchema))
}

func TestExecute(t *testing.T) {
	tests := []struct {
		name      string
		action    string
		input     string
		output    string
		errType   string
		errMsg    string
		errData   string
		retryable bool
	}{
		{name: "ok", action: "greet.hello", input: `{"name":"Ada"}`, output: `{"text":"Hello, Ada"}`},
		{name: "optional pointer", action: "greet.hello", input: `{"name":"Ada","greeting":"Hi"}`, output: `{"text":"Hi, Ada"}`},
		{name: "optional nulls", action: "greet.hello", input: `{"name":"Ada","greeting":null,"times":null,"mode":null}`, output: `{"text":"Hello, Ada"}`},
		{name: "plain error", action: "greet.hello", input: `{"name":""}`, errType: "ActionError", errMsg: "no name"},
		{name: "typed retryable error", action: "greet.hello", input: `{"name":"typed"}`, errType: "Busy", errMsg: "wrapped: try later", errData: `{"after":3}`, retryable: true},
		{name: "panic", action: "greet.hello", input: `{"name":"panic"}`, errType: "ActionPanic", errMsg: "action greet.hello panicked: boom"},
		{name: "missing required", action: "greet.hello", input: `{}`, errType: "InvalidInput", errMsg: "invalid input for action greet.hello: missing required parameters: name"},
		{name: "unexpected parameter", action: "greet.hello", input: `{"name":"a","nmae":"b"}`, errType: "InvalidInput", errMsg: "invalid input for action greet.hello: unexpected parameters: nmae"},
		{name: "wrong type", action: "greet.hello", input: `{"name":3}`, errType: "InvalidInput"},
		{name: "not an object", action: "greet.hello", input: `[1]`, errType: "InvalidInput"},
		{name: "unknown action", action: "greet.nope", input: `{}`, errType: "UnknownAction", errMsg: `plugin "greet" does not serve action "greet.nope"`},
	}
	h := sdktest.New(t, testPlugin())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := h.Execute(context.Background(), tc.action, json.RawMessage(tc.input))
			if tc.errType == "" {
				require.Nil(t, run.Error)
				require.JSONEq(t, tc.output, string(run.Output))
				return
			}
			require.NotNil(t, run.Error)
			require.Equal(t, tc.errType, run.Error.Type, run.Error.Message)
			if tc.errMsg != "" {
				require.Equal(t, tc.errMsg, run.Error.Message)
			}
			if tc.errData != "" {
				require.JSONEq(t, tc.errData, string(run.Error.Data))
			}
			require.Equal(t, tc.retryable, run.Error.Retryable)
		})
	}
}

// optionalIn has an optional parameter of every kind the SDK describes.
type optionalIn struct {
	Str  string            `json:"str,omitempty"`
	Int  int               `json:"int,omitempty"`
	Ptr  *int              `json:"ptr"`
	Map  map[string]any    `json:"map,omitempty"`
	List []string          `json:"list,omitempty"`
	Raw  json.RawMessage   `json:"raw,omitempty"`
	When time.Time         `json:"when,omitzero"`
	Sub  *struct{ X int }  `json:"sub"`
	Tags map[string]string `json:"tags" required:"false"`
	Any  any               `json:"any,omitempty"`
	// Kept is required: an explicit null is its value, not its absence.
	Kept any `json:"kept"`
}

// An explicit null for an optional parameter, as Mistral passes None for
// a parameter left at its default, is accepted by the schema and reaches
// the action as the field's zero value, whatever the field's type.
func TestNullOptionalParameters(t *testing.T) {
	h := sdktest.New(t, sdk.Plugin{Name: "opt", Version: "1", Actions: []sdk.ActionDef{
		sdk.Action("opt.zeros", "Names the parameters that are not zero.", func(_ sdk.Context, in optionalIn) ([]string, error) {
			set := []string{}
			v := reflect.ValueOf(in)
			for i := range v.NumField() {
				if !v.Field(i).IsZero() {
					set = append(set, v.Type().Field(i).Name)
				}
			}
			return set, nil
		}),
	}})
	var schema struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(h.Actions(context.Background())[0].InputSchema, &schema))
	require.Equal(t, []string{"kept"}, schema.Required)
	for name, p := range schema.Properties {
		switch name {
		case "kept", "any", "raw":
			require.Nil(t, p.Type, "%s takes any JSON value, null included", name)
		default:
			require.Contains(t, p.Type, "null", "optional %s must accept null", name)
		}
	}

	tests := []struct {
		name  string
		input string
		set   string // JSON list of the fields that are not zero
	}{
		{"every optional null", `{"str":null,"int":null,"ptr":null,"map":null,"list":null,"raw":null,"when":null,"sub":null,"tags":null,"any":null,"kept":null}`, `[]`},
		{"values", `{"str":"s","ptr":0,"raw":[1],"when":"2024-01-02T03:04:05Z","kept":1}`, `["Str","Ptr","Raw","When","Kept"]`},
		{"a null among values", `{"str":"s","raw":null,"kept":{}}`, `["Str","Kept"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := h.Execute(context.Background(), "opt.zeros", json.RawMessage(tc.input))
			require.Nil(t, run.Error)
			require.JSONEq(t, tc.set, string(run.Output))
		})
	}
}

func TestEventsAndExecContext(t *testing.T) {
	h := sdktest.New(t, testPlugin())
	run := h.ExecuteWith(context.Background(), "greet.hello", map[string]any{"name": "exec"}, sdk.ExecContext{
		WorkflowName: "deploy", WorkflowExecutionID: "wf", TaskExecutionID: "task", ActionExecutionID: "ae", Attempt: 2, WithItemsIndex: 7, CallbackURL: "http://cb",
	})
	var out greetOut
	require.NoError(t, run.Decode(&out))
	require.Equal(t, "deploy/wf/task/ae/2/7/http://cb", out.Text)
	require.Equal(t, []sdktest.Event{
		{Kind: "started"},
		{Kind: "progress", Percent: 50, Message: "halfway"},
		{Kind: "log", Level: "info", Message: "greeting name=exec"},
	}, run.Events)
}

func TestDeadlineAndCancel(t *testing.T) {
	h := sdktest.New(t, testPlugin())

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	run := h.Execute(ctx, "greet.hello", map[string]any{"name": "slow"})
	require.NotNil(t, run.Error)

	done := make(chan sdktest.Run)
	go func() {
		done <- h.ExecuteWith(context.Background(), "greet.hello", map[string]any{"name": "slow"}, sdk.ExecContext{ActionExecutionID: "to-cancel"})
	}()
	require.Eventually(t, func() bool { return h.Cancel(context.Background(), "to-cancel") }, 5*time.Second, 10*time.Millisecond)
	run = <-done
	require.NotNil(t, run.Error)
	require.Equal(t, "ActionCancelled", run.Error.Type)
}

func TestActionRejectsNonStructInput(t *testing.T) {
	require.Panics(t, func() {
		sdk.Action("bad", "", func(sdk.Context, string) (string, error) { return "", nil })
	})
	require.Panics(t, func() {
		sdk.Action("bad", "", func(sdk.Context, struct{ C chan int }) (string, error) { return "", nil })
	})
}
