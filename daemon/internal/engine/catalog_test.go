package engine

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// A plugin's own action (no Python class in Mistral) gets Sirocco's
// wording, which names the task and the field.
func TestCheckInput(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","additionalProperties":false,"required":["url"],
		"properties":{"url":{"type":"string"},"method":{"type":"string","enum":["GET","POST"]},
		"retries":{"type":"integer"},"headers":{"type":"object","additionalProperties":{"type":"string"}},
		"ids":{"type":"array","items":{"type":"integer"}},"body":{}}}`)
	tests := []struct {
		name  string
		input map[string]any
		err   string // empty: fits
	}{
		{"fits", map[string]any{"url": "http://x", "method": "GET", "retries": 3.0, "body": []any{1}}, ""},
		{"int64 from an expression", map[string]any{"url": "u", "retries": int64(2)}, ""},
		{"missing required", map[string]any{"method": "GET"}, `task "t1": input of action web.get does not fit its schema: field /url: required but missing`},
		{"unknown field", map[string]any{"url": "u", "verb": "GET"}, `field /verb: not a parameter of this action (known: body, headers, ids, method, retries, url)`},
		{"wrong type", map[string]any{"url": 5.0}, `field /url: expected a string, got a number`},
		{"not an integer", map[string]any{"url": "u", "retries": 1.5}, `field /retries: expected an integer, got a number`},
		{"enum", map[string]any{"url": "u", "method": "PATCH"}, `field /method: must be one of ["GET","POST"]`},
		{"nested map", map[string]any{"url": "u", "headers": map[string]any{"a/b": 1.0}}, `field /headers/a~1b: expected a string, got a number`},
		{"array item", map[string]any{"url": "u", "ids": []any{1.0, "x"}}, `field /ids/1: expected an integer, got a string`},
		{"nil input", nil, `field /url: required but missing`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckInput("t1", "web.get", schema, tc.input)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.err)
		})
	}
	// A schema that cannot be read checks nothing rather than failing
	// every task.
	require.NoError(t, CheckInput("t", "a", json.RawMessage(`not json`), map[string]any{"x": 1}))
}
