package engine

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// Missing or unexpected parameters of a std action are Mistral's
// check_parameters message, alone (the task's failure names the task);
// a type mismatch, which Mistral does not check, keeps Sirocco's wording.
func TestCheckInputMistralWording(t *testing.T) {
	echo := json.RawMessage(`{"type":"object","properties":{"output":{},"delay":{"type":"number"}},"required":["output"],"additionalProperties":false}`)
	http := json.RawMessage(`{"type":"object","properties":{"url":{"type":"string"},"method":{"type":"string"},"body":{}},"required":["url","method"],"additionalProperties":false}`)
	open := json.RawMessage(`{"type":"object","properties":{"output":{}},"required":["output"]}`)
	tests := []struct {
		name   string
		action string
		schema json.RawMessage
		input  map[string]any
		want   string // "" fits
	}{
		{"fits", "std.echo", echo, map[string]any{"output": 1}, ""},
		{"missing and unexpected", "std.echo", echo, map[string]any{"wrong_input": "x"},
			"Invalid input [name=std.echo, class=mistral.actions.std_actions.EchoAction, missing=['output'], unexpected=['wrong_input']]"},
		{"missing only, nil input", "std.echo", echo, nil,
			"Invalid input [name=std.echo, class=mistral.actions.std_actions.EchoAction, missing=['output']]"},
		{"missing in the schema's order", "std.http", http, map[string]any{"body": 1},
			"Invalid input [name=std.http, class=mistral.actions.std_actions.HTTPAction, missing=['url', 'method']]"},
		{"unexpected sorted, quoted as Python does", "std.http", http, map[string]any{"url": "u", "method": "GET", "z": 1, "it's": 2, "a": 3},
			`Invalid input [name=std.http, class=mistral.actions.std_actions.HTTPAction, unexpected=['a', "it's", 'z']]`},
		{"other properties allowed", "std.echo", open, map[string]any{"output": 1, "extra": 2}, ""},
		{"a type mismatch keeps Sirocco's words", "std.echo", echo, map[string]any{"output": 1, "delay": "x"},
			`task "t1": input of action std.echo does not fit its schema: field /delay: expected a number, got a string`},
		{"a plugin's own action keeps Sirocco's words", "p.echo", echo, map[string]any{"wrong_input": "x"},
			`task "t1": input of action p.echo does not fit its schema: field /output: required but missing`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckInput("t1", tc.action, tc.schema, tc.input)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestInvalidInput(t *testing.T) {
	tests := []struct {
		missing, unexpected []string
		want                string
	}{
		{[]string{"s2"}, nil, "Invalid input [name=a, class=C, missing=['s2']]"},
		{nil, []string{"x", "y"}, "Invalid input [name=a, class=C, unexpected=['x', 'y']]"},
		{[]string{"m"}, []string{"u"}, "Invalid input [name=a, class=C, missing=['m'], unexpected=['u']]"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, invalidInput("a", "C", tc.missing, tc.unexpected))
	}
}

// The ad-hoc action's input check is Mistral's, with the ad-hoc class;
// what it returns is the input with the defaults.
func TestAdhocChainInput(t *testing.T) {
	chain := adhocChain{{Name: "wb.concat", Base: "std.echo", Input: []lang.Param{
		{Name: "s1", HasDefault: true, Default: "a"}, {Name: "s2"}}}}
	tests := []struct {
		name  string
		given map[string]any
		want  map[string]any
		err   string
	}{
		{"defaults filled", map[string]any{"s2": "b"}, map[string]any{"s1": "a", "s2": "b"}, ""},
		{"missing", nil, nil, "Invalid input [name=wb.concat, class=mistral.actions.adhoc.AdHocAction, missing=['s2']]"},
		{"missing and unexpected", map[string]any{"s3": 1, "s0": 2}, nil,
			"Invalid input [name=wb.concat, class=mistral.actions.adhoc.AdHocAction, missing=['s2'], unexpected=['s0', 's3']]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chain.input(tc.given)
			if tc.err != "" {
				require.True(t, isBadRequest(err), "%v is not a bad request", err)
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// The input_dict of Mistral's message is the dict instantiate filled the
// defaults into: the given parameters, then the defaulted ones.
func TestInstantiateFailed(t *testing.T) {
	params := []lang.Param{{Name: "a", HasDefault: true, Default: int64(1)}, {Name: "b"}, {Name: "c", HasDefault: true, Default: nil}}
	def := "nested:\n  base: wb.missing\n"
	tests := []struct {
		name  string
		given map[string]any
		want  string
	}{
		{"nothing given", map[string]any{},
			"Failed to instantiate an action [action_desc=AdHoc action [name=wb.nested, definition=nested:\n  base: wb.missing\n], input_dict={'a': 1, 'c': None}]"},
		{"given first", map[string]any{"b": []any{"x", true}, "c": "y"},
			"Failed to instantiate an action [action_desc=AdHoc action [name=wb.nested, definition=nested:\n  base: wb.missing\n], input_dict={'b': ['x', True], 'c': 'y', 'a': 1}]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			input := withDefaults(params, tc.given)
			require.Equal(t, tc.want, instantiateFailed("wb.nested", def, givenThenDefaults(params, tc.given, input)))
		})
	}
}
