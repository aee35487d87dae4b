package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sirocco-wf/sirocco/plugins/openstack/fakecloud"
)

// osVars are the OS_* variables an openrc sets; a case that must not see
// them clears them.
var osVars = []string{"OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "OS_USER_DOMAIN_NAME", "OS_PROJECT_DOMAIN_NAME"}

func withoutOSVars(extra map[string]string) map[string]string {
	m := map[string]string{}
	for _, k := range osVars {
		m[k] = ""
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// TestCredentials runs nova.servers_list with credentials from each
// source, and checks which region answered (the clouds.yaml entry says
// RegionTwo) and how a bad source fails.
func TestCredentials(t *testing.T) {
	c := startCloud(t)
	dir := t.TempDir()
	cloudsYAML := filepath.Join(dir, "clouds.yaml")
	require.NoError(t, os.WriteFile(cloudsYAML, []byte(c.CloudsYAML("fake")), 0o600))
	token := issueToken(t, c)
	entry := func(auth map[string]any, more map[string]any) map[string]any {
		e := map[string]any{"auth": auth}
		for k, v := range more {
			e[k] = v
		}
		return e
	}
	password := map[string]any{"auth_url": c.AuthURL(), "username": fakecloud.Username, "password": fakecloud.Password,
		"project_name": fakecloud.ProjectName, "user_domain_name": fakecloud.DomainName, "project_domain_name": fakecloud.DomainName}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		input   map[string]any
		region  string
		errType string
		errMsg  string
	}{
		{name: "OS_* variables of the host", region: fakecloud.RegionOne},
		{name: "OS_* variables and OS_REGION_NAME", env: map[string]string{"OS_REGION_NAME": fakecloud.RegionTwo}, region: fakecloud.RegionTwo},
		{name: "OS_CLOUD and the host's clouds.yaml",
			env: withoutOSVars(map[string]string{"OS_CLOUD": "fake", "OS_CLIENT_CONFIG_FILE": cloudsYAML}), region: fakecloud.RegionTwo},
		{name: "cloud input", env: map[string]string{"OS_CLIENT_CONFIG_FILE": cloudsYAML},
			input: map[string]any{"cloud": "fake"}, region: fakecloud.RegionTwo},
		{name: "auth input, no host credentials", env: withoutOSVars(nil),
			input: map[string]any{"auth": entry(password, nil)}, region: fakecloud.RegionOne},
		{name: "auth input with its region", env: withoutOSVars(nil),
			input: map[string]any{"auth": entry(password, map[string]any{"region_name": fakecloud.RegionTwo})}, region: fakecloud.RegionTwo},
		{name: "auth input wins over the host's", env: map[string]string{"OS_PASSWORD": "wrong"},
			input: map[string]any{"auth": entry(password, nil)}, region: fakecloud.RegionOne},
		{name: "application credential", env: withoutOSVars(nil),
			input: map[string]any{"auth": entry(map[string]any{"auth_url": c.AuthURL(),
				"application_credential_id": fakecloud.AppCredID, "application_credential_secret": fakecloud.AppCredSecret}, nil)},
			region: fakecloud.RegionOne},
		{name: "token of the host, scoped to a project",
			env:    withoutOSVars(map[string]string{"OS_AUTH_URL": c.AuthURL(), "OS_TOKEN": token, "OS_PROJECT_ID": fakecloud.ProjectID}),
			region: fakecloud.RegionOne},
		{name: "action_region", input: map[string]any{"action_region": fakecloud.RegionTwo}, region: fakecloud.RegionTwo},
		{name: "wrong password", env: map[string]string{"OS_PASSWORD": "wrong"}, errType: "OpenStackAuthError",
			errMsg: "NovaAction.servers.list failed: Keystone authentication at " + c.AuthURL() + " with credentials from the OS_* variables of the executor host failed"},
		{name: "no credentials anywhere", env: withoutOSVars(nil), errType: "OpenStackAuthError",
			errMsg: "NovaAction.servers.list failed: no OpenStack credentials: pass the action an auth input"},
		{name: "unknown cloud", env: map[string]string{"OS_CLIENT_CONFIG_FILE": cloudsYAML}, input: map[string]any{"cloud": "nope"},
			errType: "InvalidInput", errMsg: `cloud "nope" not found in clouds.yaml`},
		{name: "misspelt auth key", env: withoutOSVars(nil),
			input:   map[string]any{"auth": map[string]any{"auth": password, "region": "RegionOne"}},
			errType: "InvalidInput", errMsg: "auth input: not a clouds.yaml cloud entry (keys auth, region)"},
		{name: "auth input without auth_url", input: map[string]any{"auth": map[string]any{"auth": map[string]any{"username": "x"}}},
			errType: "InvalidInput", errMsg: "auth input: auth.auth_url is required"},
		{name: "unknown region", input: map[string]any{"action_region": "Nowhere"}, errType: "OpenStackEndpointError",
			errMsg: `no endpoint in the service catalog: service type compute, region "Nowhere", interface public`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := harness(t, c, tc.env)
			before := len(c.APIRequests())
			input := tc.input
			if input == nil {
				input = map[string]any{}
			}
			r := h.Execute(ctx(t), "nova.servers_list", input)
			if tc.errType != "" {
				require.NotNil(t, r.Error, "must fail")
				require.Equal(t, tc.errType, r.Error.Type, r.Error.Message)
				require.Contains(t, r.Error.Message, tc.errMsg)
				require.NotContains(t, r.Error.Message, fakecloud.Password, "no secret in messages")
				return
			}
			require.Nil(t, r.Error)
			sent := c.APIRequests()[before:]
			require.Len(t, sent, 1)
			require.Equal(t, tc.region, sent[0].Region)
		})
	}
}

// issueToken gets a token of the demo user as a client would.
func issueToken(t *testing.T, c *fakecloud.Cloud) string {
	t.Helper()
	h := harness(t, c, nil)
	run(t, h, "keystone.projects_list", map[string]any{})
	return fmt.Sprintf("tok-%d", c.Authentications())
}

// TestTokenReuse checks that one set of credentials authenticates once for
// many runs, even runs that start together, and again when the token
// expires.
func TestTokenReuse(t *testing.T) {
	c := startCloud(t)
	h := harness(t, c, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := h.Execute(ctx(t), "glance.images_list", map[string]any{}); r.Error != nil {
				errs <- r.Error
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	run(t, h, "nova.flavors_list", map[string]any{})
	require.Equal(t, 1, c.Authentications())

	c.ExpireTokens()
	out := run(t, h, "nova.flavors_list", map[string]any{})
	require.Len(t, out, 3, "the run succeeds with a new token")
	require.Equal(t, 2, c.Authentications())
}

// TestPages checks that lists longer than a service's page come whole when
// no limit is given, following each service's next links, and as one page
// otherwise.
func TestPages(t *testing.T) {
	c := startCloud(t)
	for i := range 30 {
		c.Put(fakecloud.RegionOne, "servers", map[string]any{"name": fmt.Sprintf("vm-%02d", i), "status": "ACTIVE"})
		c.Put(fakecloud.RegionOne, "images", map[string]any{"name": fmt.Sprintf("img-%02d", i), "status": "active"})
		c.Put(fakecloud.RegionOne, "ports", map[string]any{"name": fmt.Sprintf("port-%02d", i)})
	}
	h := harness(t, c, nil)
	for _, tc := range []struct {
		action   string
		input    map[string]any
		items    string // where the list is in the result, "" for the result itself
		want     int
		requests int
	}{
		{"nova.servers_list", nil, "", 30, 2},
		{"nova.servers_list", map[string]any{"limit": 5}, "", 5, 1},
		{"glance.images_list", nil, "", 31, 2},
		{"glance.images_list", map[string]any{"page_size": 10}, "", 31, 4},
		{"neutron.list_ports", nil, "ports", 30, 2},
		{"neutron.list_ports", map[string]any{"limit": 20}, "ports", 30, 2},
		{"neutron.list_ports", map[string]any{"limit": 20, "retrieve_all": false}, "ports", 20, 1},
	} {
		t.Run(fmt.Sprintf("%s%v", tc.action, tc.input), func(t *testing.T) {
			before := len(c.APIRequests())
			input := tc.input
			if input == nil {
				input = map[string]any{}
			}
			out := run(t, h, tc.action, input)
			if tc.items != "" {
				if tc.requests > 1 {
					require.Equal(t, []string{tc.items}, keys(out), "the whole list, without page links")
				}
				out = field(out, tc.items)
			}
			require.Len(t, out, tc.want)
			require.Len(t, c.APIRequests()[before:], tc.requests)
		})
	}
}
