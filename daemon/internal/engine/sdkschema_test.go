package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sirocco-wf/sirocco/sdk"
	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

// sdkParams are parameters as plugin authors write them: required, and
// optional by pointer, omitempty (with an enum) or required:"false".
type sdkParams struct {
	URL     string            `json:"url"`
	Method  string            `json:"method,omitempty" enum:"GET,POST"`
	Timeout *float64          `json:"timeout"`
	Headers map[string]string `json:"headers,omitempty"`
	IDs     []int             `json:"ids" required:"false"`
}

// The engine checks a task's input against the schema the SDK derives, as
// a plugin describes it: an explicit null for an optional parameter fits
// (Mistral passes None for a parameter left at its default), a null for a
// required one and a wrong type for an optional one do not.
func TestCheckInputAgainstSDKSchema(t *testing.T) {
	h := sdktest.New(t, sdk.Plugin{Name: "p", Version: "1", Actions: []sdk.ActionDef{
		sdk.Action("p.call", "Takes parameters.", func(sdk.Context, sdkParams) (any, error) { return nil, nil }),
	}})
	schema := h.Actions(context.Background())[0].InputSchema
	tests := []struct {
		name  string
		input map[string]any
		err   string // empty: fits
	}{
		{"optional nulls", map[string]any{"url": "u", "method": nil, "timeout": nil, "headers": nil, "ids": nil}, ""},
		{"optional values", map[string]any{"url": "u", "method": "POST", "timeout": 1.5, "headers": map[string]any{"a": "b"}, "ids": []any{1.0}}, ""},
		{"required null", map[string]any{"url": nil}, `field /url: expected a string, got null`},
		{"optional wrong type", map[string]any{"url": "u", "headers": "x"}, `field /headers: expected an object or null, got a string`},
		{"enum still applies", map[string]any{"url": "u", "method": "PATCH"}, `field /method: must be one of ["GET","POST",null]`},
		{"items still checked", map[string]any{"url": "u", "ids": []any{"x"}}, `field /ids/0: expected an integer, got a string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckInput("t1", "p.call", schema, tc.input)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.err)
		})
	}
}
