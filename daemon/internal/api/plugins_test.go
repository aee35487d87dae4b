package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/api/apitest"
)

// catalogFake is the API's fake backend plus a fixed Catalog.
type catalogFake struct {
	*apitest.Fake
	actions []api.ActionSpec
	plugins []api.PluginStatus
}

func (c *catalogFake) Plugins(context.Context) ([]api.PluginStatus, error) { return c.plugins, nil }
func (c *catalogFake) Actions(context.Context) ([]api.ActionSpec, error)   { return c.actions, nil }

func TestMistralInput(t *testing.T) {
	tests := []struct{ schema, want string }{
		{`{"type":"object","properties":{"url":{"type":"string"},"method":{"type":"string","default":"GET"},"params":{}},"required":["url"]}`,
			`url, method="GET", params=null`},
		{`{"type":"object","properties":{"output":{},"delay":{"default":0}},"required":["output"]}`, `output, delay=0`},
		{`{"type":"object","properties":{}}`, ``},
		{``, ``},
		{`not json`, ``},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, api.MistralInput(json.RawMessage(tc.schema)), tc.schema)
	}
}

func TestCatalogEndpoints(t *testing.T) {
	f := &catalogFake{Fake: apitest.New(),
		actions: []api.ActionSpec{
			{Name: "std.http", Description: "Sends an HTTP request.", Plugin: "http",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"url":{"type":"string"},"method":{"default":"GET"}},"required":["url"]}`)},
			{Name: "std.echo", Description: "Echo.", Plugin: "builtin",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"output":{}},"required":["output"]}`)},
		},
		plugins: []api.PluginStatus{{Name: "http", Version: "0.1.0", Protocol: "1.0", SHA256: "ab", Health: "ok",
			Actions: []string{"std.http"}, Executor: "exec-1", Host: "h", Target: "default"}},
	}
	h := api.New(f, hclog.NewNullLogger(), api.Options{})
	get := func(path string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
		return rec.Code, body
	}

	code, body := get("/v2/actions")
	require.Equal(t, http.StatusOK, code)
	actions := body["actions"].([]any)
	require.Len(t, actions, 2)
	first := actions[0].(map[string]any)
	require.Equal(t, "std.echo", first["name"]) // sorted by name
	second := actions[1].(map[string]any)
	require.Equal(t, `url, method="GET"`, second["input"])
	require.Equal(t, "http", second["plugin"])
	require.NotNil(t, second["input_schema"])

	// Every field of a real Mistral answer is there.
	raw, err := os.ReadFile("testdata/mistral/actions_list.json")
	require.NoError(t, err)
	var mistral struct{ Actions []map[string]any }
	require.NoError(t, json.Unmarshal(raw, &mistral))
	for k := range mistral.Actions[0] {
		require.Contains(t, second, k, "field %q of Mistral's actions is missing", k)
	}

	code, body = get("/v2/actions/std.http")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "std.http", body["name"])
	code, body = get("/v2/actions/nope")
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, body["detail"], `"nope"`)

	code, body = get("/v2/plugins")
	require.Equal(t, http.StatusOK, code)
	plugins := body["plugins"].([]any)
	require.Len(t, plugins, 1)
	p := plugins[0].(map[string]any)
	var keys []string
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	require.Equal(t, []string{"actions", "executor", "health", "host", "name", "protocol", "sdk_version", "sha256", "target", "version"}, keys)
}

func TestCatalogIsOptional(t *testing.T) {
	h := api.New(apitest.New(), hclog.NewNullLogger(), api.Options{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v2/plugins", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
}
