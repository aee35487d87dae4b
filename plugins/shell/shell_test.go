package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestShellRun(t *testing.T) {
	h := sdktest.New(t, Plugin())
	tests := []struct {
		name    string
		input   map[string]any
		result  string
		errType string
	}{
		{name: "stdout", input: map[string]any{"command": []string{"echo", "hi"}}, result: `{"stdout":"hi\n","stderr":"","exit_code":0}`},
		{name: "stdin and env", input: map[string]any{"command": []string{"sh", "-c", "cat; echo $X >&2"}, "stdin": "in", "env": map[string]string{"X": "x"}}, result: `{"stdout":"in","stderr":"x\n","exit_code":0}`},
		{name: "non-zero exit", input: map[string]any{"command": []string{"sh", "-c", "echo oops >&2; exit 3"}}, result: `{"stdout":"","stderr":"oops\n","exit_code":3}`, errType: "CommandFailed"},
		{name: "no program", input: map[string]any{"command": []string{}}, errType: "InvalidInput"},
		{name: "not found", input: map[string]any{"command": []string{"sirocco-no-such-program"}}, errType: "CommandNotStarted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := h.Execute(context.Background(), "shell.run", tc.input)
			raw := run.Output
			if tc.errType != "" {
				require.NotNil(t, run.Error)
				require.Equal(t, tc.errType, run.Error.Type, run.Error.Message)
				raw = run.Error.Data
			} else {
				require.Nil(t, run.Error)
			}
			if tc.result != "" {
				require.JSONEq(t, tc.result, string(raw))
			}
		})
	}
}

func TestShellDescribe(t *testing.T) {
	h := sdktest.New(t, Plugin())
	actions := h.Actions(context.Background())
	require.Len(t, actions, 1)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(actions[0].InputSchema, &schema))
	require.Equal(t, []any{"command"}, schema["required"])
}
