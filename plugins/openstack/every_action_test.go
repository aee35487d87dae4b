package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/table"
)

// sample is a value of a parameter's type; IDs name their parameter so
// that the test can find them in the request.
func sample(p *table.Param) any {
	switch p.Type {
	case table.TypeInteger:
		return 1
	case table.TypeNumber:
		return 1.5
	case table.TypeBoolean:
		return true
	case table.TypeObject:
		return map[string]any{"k": "v"}
	case table.TypeArray:
		return []any{"a"}
	}
	return "v-" + p.Name
}

// TestEveryAction runs every action of the table with its required
// parameters against the fake cloud: each must build its request (every
// path parameter in place, nothing left of the template), send it to its
// service, and either succeed or fail with the service's answer, never
// with a broken input or an error of the plugin's own.
func TestEveryAction(t *testing.T) {
	c := startCloud(t)
	h := harness(t, c, nil)
	service := map[string]string{"nova": "compute", "glance": "image", "neutron": "network", "cinder": "volume",
		"keystone": "identity", "heat": "orchestration", "swift": "object-store"}
	outcomes := map[string]int{}
	tbl := mustTable()
	for _, a := range tbl.Actions {
		input := map[string]any{}
		for _, p := range a.Params {
			if p.Required {
				input[p.Name] = sample(p)
			}
		}
		if a.Handler == "keystone_role" {
			input["user"], input["project"] = "v-user", "v-project"
		}
		before := len(c.APIRequests())
		r := h.Execute(ctx(t), a.Name, input)
		sent := c.APIRequests()[before:]
		require.NotEmptyf(t, sent, "%s sent no request", a.Name)
		last := sent[len(sent)-1]
		require.Equalf(t, service[a.Namespace], last.Service, "%s: service", a.Name)
		require.NotContainsf(t, last.API, "{", "%s: %s", a.Name, last.API)
		if a.Find == nil && a.Handler == "" {
			require.Equalf(t, a.Verb, last.Method, "%s: method", a.Name)
			for _, p := range a.Params {
				if p.In == table.InPath {
					require.Containsf(t, last.API, "v-"+p.Name, "%s: path parameter %s in %s", a.Name, p.Name, last.API)
				}
			}
		}
		switch {
		case r.Error == nil:
			outcomes["success"]++
		case r.Error.Type == "OpenStackAPIError" || r.Error.Type == "OpenStackNotFound":
			require.Truef(t, strings.HasPrefix(r.Error.Message, tbl.Services[a.Namespace].Class+"."+a.Method+" failed: "),
				"%s: %s", a.Name, r.Error.Message)
			outcomes[r.Error.Type]++
		default:
			t.Fatalf("%s failed with %s: %s", a.Name, r.Error.Type, r.Error.Message)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
