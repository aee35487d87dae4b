package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/plugins/openstack/fakecloud"
	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/gen"
	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/runner"
	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Keep-alive connections of the HTTP client to the fake cloud
		// end when the cloud closes them, a moment after the test.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

// env is an executor host's environment made of a map.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// startCloud serves a fake cloud for the test.
func startCloud(t *testing.T) *fakecloud.Cloud {
	t.Helper()
	c := fakecloud.Start()
	t.Cleanup(c.Close)
	return c
}

// harness runs the plugin in-process over the real protocol, its executor
// host's environment the fake cloud's openrc plus extra.
func harness(t *testing.T, c *fakecloud.Cloud, extra map[string]string) *sdktest.Harness {
	t.Helper()
	vars := map[string]string{}
	if c != nil {
		vars = c.Env()
	}
	for k, v := range extra {
		if v == "" {
			delete(vars, k)
			continue
		}
		vars[k] = v
	}
	return sdktest.New(t, newPlugin(env(vars)))
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestInfo(t *testing.T) {
	h := harness(t, nil, nil)
	require.Equal(t, "openstack", h.Info(ctx(t)).Name)
	var out InfoResult
	require.NoError(t, h.Execute(ctx(t), "openstack.info", map[string]any{}).Decode(&out))
	require.Equal(t, Version, out.Version)
	for _, s := range []string{"nova", "glance", "neutron", "cinder", "keystone", "heat", "swift"} {
		require.Positive(t, out.Services[s], s)
	}
}

// TestTable checks the table against mistral-extra's own mapping: every
// action has the name mistral-extra gives it and stands for the python
// method mistral-extra maps that name to; and there are at least 150.
func TestTable(t *testing.T) {
	raw, err := os.ReadFile("testdata/mistral-extra-mapping.json")
	require.NoError(t, err)
	var mapping map[string]map[string]string
	require.NoError(t, json.Unmarshal(raw, &mapping))
	tbl := mustTable()
	perService := map[string]int{}
	for _, a := range tbl.Actions {
		ns, name, _ := strings.Cut(a.Name, ".")
		method, ok := mapping[ns][name]
		require.Truef(t, ok, "%s is not a mistral-extra action name", a.Name)
		require.Equalf(t, method, a.Method, "%s: python method", a.Name)
		for _, p := range a.Params {
			require.Truef(t, p.Conv == "" || runner.HasConversion(p.Conv), "%s: parameter %s: no conversion %q", a.Name, p.Name, p.Conv)
		}
		require.Truef(t, a.Handler == "" || runner.HasHandler(a.Handler), "%s: no handler %q", a.Name, a.Handler)
		perService[ns]++
	}
	require.GreaterOrEqual(t, len(tbl.Actions), 150)
	for _, ns := range []string{"nova", "glance", "neutron", "cinder", "keystone", "heat", "swift"} {
		require.Positive(t, perService[ns], ns)
	}
	t.Logf("actions per service: %v, %d in all", perService, len(tbl.Actions))
}

// TestGeneratedFilesAreUpToDate fails when actions.yaml changed without
// `go generate ./plugins/openstack`.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	tbl := mustTable()
	src, err := gen.Go(tbl)
	require.NoError(t, err)
	have, err := os.ReadFile("actions_gen.go")
	require.NoError(t, err)
	require.Equal(t, string(src), string(have), "actions_gen.go is stale: run go generate ./plugins/openstack")
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	want, err := gen.Readme(tbl, readme)
	require.NoError(t, err)
	require.Equal(t, string(want), string(readme), "README.md's action list is stale: run go generate ./plugins/openstack")
}

// TestSchemas checks what GET /v2/actions shows of a few actions: the
// python signature's parameters (required ones required), action_region
// with Mistral's default, and the result's shape.
func TestSchemas(t *testing.T) {
	h := harness(t, nil, nil)
	specs := map[string]sdktest.ActionSpec{}
	for _, a := range h.Actions(ctx(t)) {
		specs[a.Name] = a
	}
	type schema struct {
		Type       string                     `json:"type"`
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
		Items      *schema                    `json:"items"`
	}
	for _, c := range []struct {
		action   string
		required []string
		has      []string
		output   string
	}{
		{"nova.servers_list", nil, []string{"detailed", "search_opts", "marker", "limit", "sort_keys", "sort_dirs"}, "array"},
		{"nova.servers_create", []string{"name", "image", "flavor"}, []string{"nics", "key_name", "userdata", "security_groups"}, "object"},
		{"nova.servers_start", []string{"server"}, nil, ""},
		{"glance.images_list", nil, []string{"name", "filters", "page_size"}, "array"},
		{"neutron.list_networks", nil, []string{"name", "router:external", "retrieve_all"}, "object"},
		{"neutron.create_network", nil, []string{"body"}, "object"},
		{"cinder.volumes_create", []string{"size"}, []string{"name", "imageRef", "volume_type"}, "object"},
		{"keystone.projects_create", []string{"name", "domain"}, []string{"description", "enabled", "parent"}, "object"},
		{"heat.stacks_create", []string{"stack_name"}, []string{"template", "parameters"}, "object"},
		{"swift.get_object", []string{"container", "obj"}, []string{"headers"}, ""},
	} {
		t.Run(c.action, func(t *testing.T) {
			spec, ok := specs[c.action]
			require.True(t, ok)
			var in schema
			require.NoError(t, json.Unmarshal(spec.InputSchema, &in))
			require.ElementsMatch(t, c.required, in.Required)
			for _, p := range append(c.has, "action_region", "auth", "cloud") {
				require.Contains(t, in.Properties, p)
			}
			require.JSONEq(t, `{"type": ["string", "null"], "default": "", "description": "The region whose endpoint is called; empty: the credentials' region (OS_REGION_NAME, region_name), else the first in the catalog."}`, string(in.Properties["action_region"]))
			var out schema
			require.NoError(t, json.Unmarshal(spec.OutputSchema, &out))
			require.Equal(t, c.output, out.Type)
			if c.output == "array" {
				require.Equal(t, "object", out.Items.Type)
			}
		})
	}
}

// run executes an action and returns its output decoded, failing the test
// on an error.
func run(t *testing.T, h *sdktest.Harness, action string, input map[string]any) any {
	t.Helper()
	r := h.Execute(ctx(t), action, input)
	require.Nilf(t, r.Error, "%s: %v", action, r.Error)
	var out any
	require.NoError(t, json.Unmarshal(r.Output, &out))
	return out
}

// runErr executes an action that must fail and returns its error.
func runErr(t *testing.T, h *sdktest.Harness, action string, input map[string]any) *sdktest.Error {
	t.Helper()
	r := h.Execute(ctx(t), action, input)
	require.NotNilf(t, r.Error, "%s succeeded: %s", action, r.Output)
	return r.Error
}
