package main

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sirocco-wf/sirocco/plugins/openstack/fakecloud"
)

// step is one action of a scenario: what it is given, the request it must
// send (as the service's API reference describes it) and what its result
// must be.
type step struct {
	action string
	// in builds the input from the results saved by earlier steps.
	in func(v vars) map[string]any
	// req is the last API request the step must send.
	req *wantReq
	// requests, when set, is how many API requests the step sends.
	requests int
	// check looks at the result (the cloud's state too).
	check func(t *testing.T, c *fakecloud.Cloud, out any, v vars)
	// save keeps the result under this name for later steps.
	save string
	// errType, when set, says the step fails with this error type and a
	// message containing errMsg.
	errType, errMsg string
}

type wantReq struct {
	method, path string
	query        map[string]string // each must be in the query
	body         string            // JSON the body must equal, "" for no check
	header       map[string]string
}

// vars are the saved results of a scenario.
type vars map[string]any

// id is the "id" member of a saved object (or of its only wrapped member).
func (v vars) id(name string) string {
	m, _ := v[name].(map[string]any)
	if id, ok := m["id"].(string); ok {
		return id
	}
	for _, inner := range m {
		if im, ok := inner.(map[string]any); ok {
			if id, ok := im["id"].(string); ok {
				return id
			}
		}
	}
	panic(fmt.Sprintf("saved result %s has no id: %v", name, v[name]))
}

func in(m map[string]any) func(vars) map[string]any { return func(vars) map[string]any { return m } }

// scenario runs steps in order against one fresh cloud.
func scenario(t *testing.T, steps []step) {
	t.Helper()
	c := startCloud(t)
	h := harness(t, c, nil)
	v := vars{}
	for i, s := range steps {
		t.Run(fmt.Sprintf("%02d_%s", i, s.action), func(t *testing.T) {
			before := len(c.APIRequests())
			input := map[string]any{}
			if s.in != nil {
				input = s.in(v)
			}
			r := h.Execute(ctx(t), s.action, input)
			sent := c.APIRequests()[before:]
			if s.errType != "" {
				require.NotNil(t, r.Error, "the step must fail; it gave %s", r.Output)
				require.Equal(t, s.errType, r.Error.Type, r.Error.Message)
				require.Contains(t, r.Error.Message, s.errMsg)
			} else {
				require.Nil(t, r.Error, "%v", r.Error)
			}
			if s.requests > 0 {
				require.Len(t, sent, s.requests, "API requests: %v", paths(sent))
			}
			if s.req != nil {
				require.NotEmpty(t, sent, "no API request was sent")
				checkRequest(t, *s.req, sent[len(sent)-1])
			}
			var out any
			if r.Error == nil {
				require.NoError(t, json.Unmarshal(r.Output, &out))
			}
			if s.save != "" {
				v[s.save] = out
			}
			if s.check != nil {
				s.check(t, c, out, v)
			}
		})
		if t.Failed() {
			return
		}
	}
}

func paths(rs []fakecloud.Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Method+" "+r.API+"?"+r.Query.Encode())
	}
	return out
}

func checkRequest(t *testing.T, want wantReq, got fakecloud.Request) {
	t.Helper()
	require.Equal(t, want.method+" "+want.path, got.Method+" "+got.API, "request")
	for k, v := range want.query {
		require.Equal(t, v, got.Query.Get(k), "query parameter %s of %s", k, got.Query.Encode())
	}
	if want.body != "" {
		require.JSONEq(t, want.body, string(got.Body), "request body")
	}
	for k, v := range want.header {
		require.Equal(t, v, got.Header.Get(k), "header %s", k)
	}
}

// field reads a dotted path of a decoded result.
func field(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

func names(list any) []string {
	var out []string
	items, _ := list.([]any)
	for _, it := range items {
		out = append(out, fmt.Sprint(field(it, "name")))
	}
	return out
}

func hasFields(t *testing.T, v any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		require.Equal(t, w, field(v, k), "field %s of %v", k, v)
	}
}

const compute = "nova"

func TestNova(t *testing.T) {
	server := func(v vars) string { return v.id("vm") }
	action := func(name string, extra map[string]any, body string) step {
		return step{action: name,
			in: func(v vars) map[string]any {
				m := map[string]any{"server": server(v)}
				for k, x := range extra {
					m[k] = x
				}
				return m
			},
			req: &wantReq{method: "POST", path: "servers/" + "server-0001" + "/action", body: body}}
	}
	scenario(t, []step{
		{action: "nova.servers_list", req: &wantReq{method: "GET", path: "servers/detail",
			header: map[string]string{"X-OpenStack-Nova-API-Version": "2.96"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) { require.Equal(t, []any{}, out) }},
		{action: "nova.servers_create", save: "vm",
			in: in(map[string]any{"name": "web-1", "image": "img-cirros", "flavor": "1", "key_name": "demo-key",
				"nics":            []any{map[string]any{"net-id": "net-private", "v4-fixed-ip": "10.0.0.5"}},
				"userdata":        "#!/bin/sh\necho hi",
				"security_groups": []any{"default", "web"}, "meta": map[string]any{"role": "web"},
				"scheduler_hints": map[string]any{"group": "g1"}, "availability_zone": "nova",
				"files": map[string]any{"/etc/motd": "hi"}}),
			req: &wantReq{method: "POST", path: "servers", body: `{
				"server": {"name": "web-1", "imageRef": "img-cirros", "flavorRef": "1", "key_name": "demo-key",
					"networks": [{"uuid": "net-private", "fixed_ip": "10.0.0.5"}],
					"user_data": "` + base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi")) + `",
					"security_groups": [{"name": "default"}, {"name": "web"}], "metadata": {"role": "web"},
					"availability_zone": "nova", "personality": [{"path": "/etc/motd", "contents": "aGk="}]},
				"os:scheduler_hints": {"group": "g1"}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"id": "server-0001", "OS-DCF:diskConfig": "MANUAL"})
				require.NotEmpty(t, field(out, "adminPass"))
			}},
		{action: "nova.servers_create", in: in(map[string]any{"name": "web-2", "image": map[string]any{"id": "img-cirros"},
			"flavor": map[string]any{"id": "2", "name": "m1.small"}, "nics": "auto"}),
			req: &wantReq{method: "POST", path: "servers", body: `{"server": {"name": "web-2", "imageRef": "img-cirros", "flavorRef": "2", "networks": "auto"}}`}},
		{action: "nova.servers_create", in: in(map[string]any{"name": "db-1", "image": "img-cirros", "flavor": "1"}),
			errType: "OpenStackAPIError", errMsg: "NovaAction.servers.create failed: Invalid input for field/attribute server."},
		{action: "nova.servers_get", in: func(v vars) map[string]any { return map[string]any{"server": server(v)} },
			req: &wantReq{method: "GET", path: "servers/server-0001"},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"name": "web-1", "status": "ACTIVE", "key_name": "demo-key",
					"flavor.original_name": "m1.tiny", "image.id": "img-cirros", "metadata.role": "web"})
				require.Equal(t, "10.0.0.5", field(field(out, "addresses").(map[string]any)["private"].([]any)[0], "addr"))
			}},
		{action: "nova.servers_get", in: func(v vars) map[string]any { return map[string]any{"server": v["vm"]} },
			req: &wantReq{method: "GET", path: "servers/server-0001"}},
		{action: "nova.servers_get", in: in(map[string]any{"server": "nope"}), errType: "OpenStackAPIError",
			errMsg: "NovaAction.servers.get failed: Instance nope could not be found. (HTTP 404) (Request-ID: req-fake)"},
		{action: "nova.servers_list", in: in(map[string]any{"detailed": false, "search_opts": map[string]any{"name": "web", "status": "ACTIVE"},
			"limit": 5, "sort_keys": []any{"name"}, "sort_dirs": []any{"desc"}}),
			req: &wantReq{method: "GET", path: "servers", query: map[string]string{"name": "web", "status": "ACTIVE", "limit": "5", "sort_key": "name", "sort_dir": "desc"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				require.Equal(t, []string{"web-1", "web-2"}, names(out))
				require.ElementsMatch(t, []string{"id", "name", "links"}, keys(out.([]any)[0]))
			}},
		{action: "nova.servers_find", in: in(map[string]any{"name": "web-1"}),
			req: &wantReq{method: "GET", path: "servers/detail", query: map[string]string{"name": "web-1"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"id": "server-0001"})
			}},
		{action: "nova.servers_find", in: in(map[string]any{"name": "web"}), errType: "OpenStackNotFound",
			errMsg: "NovaAction.servers.find failed: No Server matching {'name': 'web'}. (HTTP 404)"},
		{action: "nova.servers_find", in: in(map[string]any{"status": "ACTIVE"}), errType: "OpenStackNotFound",
			errMsg: "2 Servers match {'status': 'ACTIVE'}"},
		{action: "nova.servers_findall", in: in(map[string]any{"status": "ACTIVE", "key_name": "demo-key"}),
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				require.Equal(t, []string{"web-1"}, names(out))
			}},
		{action: "nova.servers_update", in: func(v vars) map[string]any { return map[string]any{"server": server(v), "description": "front"} },
			req: &wantReq{method: "PUT", path: "servers/server-0001", body: `{"server": {"description": "front"}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"description": "front"})
			}},
		action("nova.servers_stop", nil, `{"os-stop": null}`),
		{action: "nova.servers_get", in: func(v vars) map[string]any { return map[string]any{"server": server(v)} },
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"status": "SHUTOFF"})
			}},
		action("nova.servers_start", nil, `{"os-start": null}`),
		action("nova.servers_reboot", nil, `{"reboot": {"type": "SOFT"}}`),
		action("nova.servers_reboot", map[string]any{"reboot_type": "HARD"}, `{"reboot": {"type": "HARD"}}`),
		action("nova.servers_pause", nil, `{"pause": null}`),
		action("nova.servers_unpause", nil, `{"unpause": null}`),
		action("nova.servers_lock", map[string]any{"reason": "maintenance"}, `{"lock": {"locked_reason": "maintenance"}}`),
		action("nova.servers_unlock", nil, `{"unlock": null}`),
		action("nova.servers_resize", map[string]any{"flavor": "2"}, `{"resize": {"flavorRef": "2"}}`),
		action("nova.servers_confirm_resize", nil, `{"confirmResize": null}`),
		action("nova.servers_add_security_group", map[string]any{"security_group": "db"}, `{"addSecurityGroup": {"name": "db"}}`),
		{action: "nova.servers_get_console_output", in: func(v vars) map[string]any { return map[string]any{"server": server(v), "length": 10} },
			req:   &wantReq{method: "POST", path: "servers/server-0001/action", body: `{"os-getConsoleOutput": {"length": 10}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) { require.Contains(t, out, "web-1 login:") }},
		{action: "nova.servers_create_image", in: func(v vars) map[string]any { return map[string]any{"server": server(v), "image_name": "snap"} },
			req: &wantReq{method: "POST", path: "servers/server-0001/action", body: `{"createImage": {"name": "snap", "metadata": {}}}`},
			check: func(t *testing.T, c *fakecloud.Cloud, out any, _ vars) {
				id, _ := out.(string)
				require.NotNil(t, c.Get(fakecloud.RegionOne, "images", id), "the snapshot's image %v", out)
			}},
		{action: "nova.servers_set_meta", in: func(v vars) map[string]any {
			return map[string]any{"server": server(v), "metadata": map[string]any{"tier": "1"}}
		},
			req: &wantReq{method: "POST", path: "servers/server-0001/metadata", body: `{"metadata": {"tier": "1"}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"tier": "1", "role": "web"})
			}},
		{action: "nova.servers_interface_attach", in: func(v vars) map[string]any {
			return map[string]any{"server": server(v), "port_id": nil, "net_id": "net-private", "fixed_ip": "10.0.0.9"}
		},
			req: &wantReq{method: "POST", path: "servers/server-0001/os-interface",
				body: `{"interfaceAttachment": {"net_id": "net-private", "fixed_ips": [{"ip_address": "10.0.0.9"}]}}`}},
		{action: "nova.servers_interface_list", in: func(v vars) map[string]any { return map[string]any{"server": server(v)} },
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) { require.Len(t, out, 1) }},
		{action: "nova.servers_get_vnc_console", in: func(v vars) map[string]any { return map[string]any{"server": server(v), "console_type": "novnc"} },
			req: &wantReq{method: "POST", path: "servers/server-0001/remote-consoles", body: `{"remote_console": {"protocol": "vnc", "type": "novnc"}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				require.Contains(t, field(out, "remote_console.url"), "vnc_auto.html")
			}},
		{action: "nova.servers_ips", in: func(v vars) map[string]any { return map[string]any{"server": server(v)} },
			req:   &wantReq{method: "GET", path: "servers/server-0001/ips"},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) { require.Contains(t, out, "private") }},
		{action: "nova.flavors_list", req: &wantReq{method: "GET", path: "flavors/detail", query: map[string]string{"is_public": "true"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				require.Equal(t, []string{"m1.tiny", "m1.small", "m1.medium"}, names(out))
			}},
		{action: "nova.flavors_find", in: in(map[string]any{"name": "m1.small"}),
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"id": "2", "ram": 2048.0})
			}},
		{action: "nova.flavors_create", in: in(map[string]any{"name": "m1.huge", "ram": 65536, "vcpus": 16, "disk": 160}),
			req: &wantReq{method: "POST", path: "flavors", body: `{"flavor": {"name": "m1.huge", "ram": 65536, "vcpus": 16, "disk": 160,
				"id": null, "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 0, "rxtx_factor": 1.0, "os-flavor-access:is_public": true}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) { require.NotEmpty(t, field(out, "id")) }},
		{action: "nova.keypairs_create", in: in(map[string]any{"name": "demo-key", "public_key": "ssh-ed25519 AAAAC3Nz demo"}),
			req: &wantReq{method: "POST", path: "os-keypairs", body: `{"keypair": {"name": "demo-key", "public_key": "ssh-ed25519 AAAAC3Nz demo", "type": "ssh"}}`}},
		{action: "nova.keypairs_create", in: in(map[string]any{"name": "gen-key"}), errType: "OpenStackAPIError", errMsg: "'public_key' is a required property"},
		{action: "nova.keypairs_list", check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
			require.Equal(t, "demo-key", field(out.([]any)[0], "keypair.name"), "nova lists key pairs wrapped")
		}},
		{action: "nova.keypairs_find", in: in(map[string]any{"name": "demo-key"}),
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"keypair.type": "ssh"})
			}},
		{action: "nova.quotas_update", in: in(map[string]any{"tenant_id": fakecloud.ProjectID, "instances": 20}),
			req: &wantReq{method: "PUT", path: "os-quota-sets/" + fakecloud.ProjectID, body: `{"quota_set": {"instances": 20}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"instances": 20.0, "cores": 20.0})
			}},
		{action: "nova.availability_zones_list", req: &wantReq{method: "GET", path: "os-availability-zone/detail"},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out.([]any)[0], map[string]any{"zoneName": "nova"})
			}},
		{action: "nova.servers_delete", in: func(v vars) map[string]any { return map[string]any{"server": server(v)} },
			req: &wantReq{method: "DELETE", path: "servers/server-0001"},
			check: func(t *testing.T, c *fakecloud.Cloud, out any, _ vars) {
				require.Nil(t, out)
				require.Nil(t, c.Get(fakecloud.RegionOne, "servers", "server-0001"))
			}},
	})
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestGlance(t *testing.T) {
	scenario(t, []step{
		{action: "glance.images_list", in: in(map[string]any{"name": "cirros-0.6.2-x86_64-disk"}),
			req: &wantReq{method: "GET", path: "images", query: map[string]string{"name": "cirros-0.6.2-x86_64-disk"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				require.Equal(t, []string{"cirros-0.6.2-x86_64-disk"}, names(out))
				require.NotContains(t, out.([]any)[0], "self", "glanceclient drops self")
			}},
		{action: "glance.images_create", save: "img", in: in(map[string]any{"name": "ubuntu", "disk_format": "qcow2",
			"container_format": "bare", "visibility": "private", "properties": map[string]any{"os_distro": "ubuntu"}}),
			req: &wantReq{method: "POST", path: "images", body: `{"name": "ubuntu", "disk_format": "qcow2", "container_format": "bare",
				"visibility": "private", "os_distro": "ubuntu"}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"status": "queued", "os_distro": "ubuntu"})
				require.NotContains(t, out, "self")
			}},
		{action: "glance.images_update", in: func(v vars) map[string]any {
			return map[string]any{"image_id": v.id("img"), "name": "ubuntu-24.04", "remove_props": []any{"os_distro"},
				"properties": map[string]any{"hw_disk_bus": "scsi"}}
		},
			requests: 3,
			req:      &wantReq{method: "GET", path: "images/image-0001"},
			check: func(t *testing.T, c *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"name": "ubuntu-24.04", "hw_disk_bus": "scsi"})
				require.NotContains(t, out, "os_distro")
				var patch fakecloud.Request
				for _, r := range c.APIRequests() {
					if r.Method == "PATCH" {
						patch = r
					}
				}
				require.Equal(t, "application/openstack-images-v2.1-json-patch", patch.Header.Get("Content-Type"))
				require.JSONEq(t, `[{"op": "replace", "path": "/name", "value": "ubuntu-24.04"},
					{"op": "add", "path": "/hw_disk_bus", "value": "scsi"}, {"op": "remove", "path": "/os_distro"}]`, string(patch.Body))
			}},
		{action: "glance.images_upload", in: func(v vars) map[string]any { return map[string]any{"image_id": v.id("img"), "image_data": "QCOW"} },
			req: &wantReq{method: "PUT", path: "images/image-0001/file", header: map[string]string{"Content-Type": "application/octet-stream"}},
			check: func(t *testing.T, c *fakecloud.Cloud, _ any, _ vars) {
				hasFields(t, c.Get(fakecloud.RegionOne, "images", "image-0001"), map[string]any{"status": "active", "size": 4.0})
			}},
		{action: "glance.image_tags_update", in: func(v vars) map[string]any { return map[string]any{"image_id": v.id("img"), "tag_value": "lts"} },
			req: &wantReq{method: "PUT", path: "images/image-0001/tags/lts"}},
		{action: "glance.image_members_create", in: func(v vars) map[string]any { return map[string]any{"image_id": v.id("img"), "member_id": "p2"} },
			req: &wantReq{method: "POST", path: "images/image-0001/members", body: `{"member": "p2"}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"member_id": "p2", "status": "pending"})
			}},
		{action: "glance.images_get", in: func(v vars) map[string]any { return map[string]any{"image_id": v.id("img")} },
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"tags": []any{"lts"}, "file": "/v2/images/image-0001/file"})
			}},
		{action: "glance.images_deactivate", in: func(v vars) map[string]any { return map[string]any{"image_id": v.id("img")} },
			req: &wantReq{method: "POST", path: "images/image-0001/actions/deactivate"}},
		{action: "glance.images_delete", in: func(v vars) map[string]any { return map[string]any{"image_id": v.id("img")} },
			req: &wantReq{method: "DELETE", path: "images/image-0001"}},
		{action: "glance.images_get", in: in(map[string]any{"image_id": "image-0001"}), errType: "OpenStackAPIError",
			errMsg: "GlanceAction.images.get failed: 404 Not Found No image found with ID image-0001 (HTTP 404)"},
	})
}

func TestNeutron(t *testing.T) {
	scenario(t, []step{
		{action: "neutron.list_networks", in: in(map[string]any{"name": "private"}),
			req: &wantReq{method: "GET", path: "networks", query: map[string]string{"name": "private"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				require.Equal(t, []string{"private"}, names(field(out, "networks")), "neutronclient returns the whole body")
			}},
		{action: "neutron.list_networks", in: in(map[string]any{"router:external": true}),
			req: &wantReq{method: "GET", path: "networks", query: map[string]string{"router:external": "true"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				require.Equal(t, []string{"public"}, names(field(out, "networks")))
			}},
		{action: "neutron.create_network", save: "net", in: in(map[string]any{"body": map[string]any{"network": map[string]any{"name": "app"}}}),
			req: &wantReq{method: "POST", path: "networks", body: `{"network": {"name": "app"}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"network.status": "ACTIVE"})
			}},
		{action: "neutron.update_network", in: func(v vars) map[string]any {
			return map[string]any{"network": v.id("net"), "body": map[string]any{"network": map[string]any{"name": "app-2"}}, "revision_number": 1}
		},
			req: &wantReq{method: "PUT", path: "networks/network-0001", body: `{"network": {"name": "app-2"}}`,
				header: map[string]string{"If-Match": "revision_number=1"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"network.revision_number": 2.0})
			}},
		{action: "neutron.update_network", in: func(v vars) map[string]any {
			return map[string]any{"network": v.id("net"), "body": map[string]any{"network": map[string]any{"name": "app-3"}}, "revision_number": 1}
		}, errType: "OpenStackAPIError", errMsg: "NeutronAction.update_network failed: Constrained to 1, but current revision is 2 (HTTP 412)"},
		{action: "neutron.create_subnet", save: "subnet", in: func(v vars) map[string]any {
			return map[string]any{"body": map[string]any{"subnet": map[string]any{"network_id": v.id("net"), "cidr": "10.1.0.0/24", "ip_version": 4}}}
		}},
		{action: "neutron.create_router", save: "router", in: in(map[string]any{"body": map[string]any{"router": map[string]any{"name": "r1"}}})},
		{action: "neutron.add_interface_router", in: func(v vars) map[string]any {
			return map[string]any{"router": v.id("router"), "body": map[string]any{"subnet_id": v.id("subnet")}}
		},
			req: &wantReq{method: "PUT", path: "routers/router-0003/add_router_interface", body: `{"subnet_id": "subnet-0002"}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"id": "router-0003", "subnet_id": "subnet-0002", "network_id": "network-0001"})
				require.NotEmpty(t, field(out, "port_id"))
			}},
		{action: "neutron.add_gateway_router", in: func(v vars) map[string]any {
			return map[string]any{"router": v.id("router"), "body": map[string]any{"network_id": "net-public"}}
		},
			req: &wantReq{method: "PUT", path: "routers/router-0003", body: `{"router": {"external_gateway_info": {"network_id": "net-public"}}}`}},
		{action: "neutron.remove_gateway_router", in: func(v vars) map[string]any { return map[string]any{"router": v.id("router")} },
			req: &wantReq{method: "PUT", path: "routers/router-0003", body: `{"router": {"external_gateway_info": {}}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"router.name": "r1"})
			}},
		{action: "neutron.show_network", in: func(v vars) map[string]any { return map[string]any{"network": v["net"], "fields": []any{"id", "name"}} },
			req: &wantReq{method: "GET", path: "networks/network-0001", query: map[string]string{"fields": "id"}}},
		{action: "neutron.delete_network", in: func(v vars) map[string]any { return map[string]any{"network": v.id("net")} },
			req:   &wantReq{method: "DELETE", path: "networks/network-0001"},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) { require.Nil(t, out) }},
		{action: "neutron.show_network", in: in(map[string]any{"network": "network-0001"}), errType: "OpenStackAPIError",
			errMsg: "NeutronAction.show_network failed: network network-0001 could not be found. (HTTP 404)"},
	})
}

func TestCinder(t *testing.T) {
	scenario(t, []step{
		{action: "cinder.volumes_create", save: "vol", in: in(map[string]any{"size": 1, "name": "data", "metadata": map[string]any{"app": "db"}}),
			req: &wantReq{method: "POST", path: "volumes", body: `{"volume": {"size": 1, "name": "data", "metadata": {"app": "db"}}}`,
				header: map[string]string{"OpenStack-API-Version": "volume 3.71"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"status": "available", "size": 1.0})
			}},
		{action: "cinder.volumes_list", req: &wantReq{method: "GET", path: "volumes/detail"},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				require.Equal(t, []string{"data"}, names(out))
			}},
		{action: "cinder.volumes_extend", in: func(v vars) map[string]any { return map[string]any{"volume": v.id("vol"), "new_size": 2} },
			req: &wantReq{method: "POST", path: "volumes/volume-0001/action", body: `{"os-extend": {"new_size": 2}}`}},
		{action: "cinder.volumes_extend", in: func(v vars) map[string]any { return map[string]any{"volume": v.id("vol"), "new_size": 1} },
			errType: "OpenStackAPIError", errMsg: "CinderAction.volumes.extend failed: New size for extend must be greater than current size."},
		{action: "cinder.volumes_find", in: in(map[string]any{"name": "data"}),
			req: &wantReq{method: "GET", path: "volumes/detail", query: map[string]string{"name": "data"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"size": 2.0})
			}},
		{action: "cinder.volume_snapshots_create", in: func(v vars) map[string]any {
			return map[string]any{"volume_id": v.id("vol"), "force": true, "name": "snap"}
		},
			req: &wantReq{method: "POST", path: "snapshots", body: `{"snapshot": {"volume_id": "volume-0001", "force": true, "name": "snap"}}`}},
		{action: "cinder.backups_create", in: func(v vars) map[string]any { return map[string]any{"volume_id": v.id("vol")} },
			req: &wantReq{method: "POST", path: "backups", body: `{"backup": {"volume_id": "volume-0001", "incremental": false, "force": false}}`}},
		{action: "cinder.volume_types_create", in: in(map[string]any{"name": "fast"}),
			req: &wantReq{method: "POST", path: "types", body: `{"volume_type": {"name": "fast", "os-volume-type-access:is_public": true}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"name": "fast"})
			}},
		{action: "cinder.quotas_update", in: in(map[string]any{"tenant_id": fakecloud.ProjectID, "volumes": 20}),
			req: &wantReq{method: "PUT", path: "os-quota-sets/" + fakecloud.ProjectID, body: `{"quota_set": {"volumes": 20}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"volumes": 20.0})
			}},
		{action: "cinder.volumes_delete", in: func(v vars) map[string]any { return map[string]any{"volume": v.id("vol")} },
			req: &wantReq{method: "DELETE", path: "volumes/volume-0001", query: map[string]string{"cascade": "false"}}},
	})
}

func TestKeystone(t *testing.T) {
	scenario(t, []step{
		{action: "keystone.projects_list", in: in(map[string]any{"name": "demo"}),
			req: &wantReq{method: "GET", path: "projects", query: map[string]string{"name": "demo"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				require.Equal(t, []string{"demo"}, names(out))
			}},
		{action: "keystone.projects_create", save: "project", in: in(map[string]any{"name": "team", "domain": "default", "description": "a team"}),
			req: &wantReq{method: "POST", path: "projects", body: `{"project": {"name": "team", "domain_id": "default", "description": "a team", "enabled": true}}`}},
		{action: "keystone.users_create", save: "user", in: in(map[string]any{"name": "alice", "domain": map[string]any{"id": "default"}, "password": "pw"}),
			req: &wantReq{method: "POST", path: "users", body: `{"user": {"name": "alice", "domain_id": "default", "password": "pw", "enabled": true}}`}},
		{action: "keystone.roles_grant", in: func(v vars) map[string]any {
			return map[string]any{"role": "role-member", "user": v["user"], "project": v.id("project")}
		},
			req: &wantReq{method: "PUT", path: "projects/project-0001/users/user-0002/roles/role-member"}},
		{action: "keystone.roles_check", in: func(v vars) map[string]any {
			return map[string]any{"role": "role-member", "user": v.id("user"), "project": v.id("project")}
		},
			req: &wantReq{method: "HEAD", path: "projects/project-0001/users/user-0002/roles/role-member"}},
		{action: "keystone.roles_check", in: func(v vars) map[string]any {
			return map[string]any{"role": "role-admin", "user": v.id("user"), "project": v.id("project")}
		}, errType: "OpenStackAPIError", errMsg: "(HTTP 404)"},
		{action: "keystone.roles_grant", in: in(map[string]any{"role": "role-member", "project": "p"}), errType: "InvalidInput",
			errMsg: "KeystoneAction.roles.grant failed: a role is granted to a user or a group"},
		{action: "keystone.role_assignments_list", in: func(v vars) map[string]any { return map[string]any{"user": v.id("user")} },
			req: &wantReq{method: "GET", path: "role_assignments", query: map[string]string{"user.id": "user-0002"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				require.Len(t, out, 1)
				hasFields(t, out.([]any)[0], map[string]any{"role.id": "role-member", "scope.project.id": "project-0001"})
			}},
		{action: "keystone.trusts_create", in: func(v vars) map[string]any {
			return map[string]any{"trustee_user": v.id("user"), "trustor_user": fakecloud.UserID, "role_names": []any{"member"}, "project": v.id("project")}
		},
			req: &wantReq{method: "POST", path: "OS-TRUST/trusts", body: `{"trust": {"trustee_user_id": "user-0002", "trustor_user_id": "` +
				fakecloud.UserID + `", "roles": [{"name": "member"}], "project_id": "project-0001", "impersonation": false}}`}},
		{action: "keystone.projects_find", in: in(map[string]any{"name": "team"}),
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"id": "project-0001"})
			}},
		{action: "keystone.projects_update", in: func(v vars) map[string]any { return map[string]any{"project": v.id("project"), "enabled": false} },
			req: &wantReq{method: "PATCH", path: "projects/project-0001", body: `{"project": {"enabled": false}}`},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"enabled": false})
			}},
	})
}

func TestHeat(t *testing.T) {
	template := map[string]any{"heat_template_version": "2018-08-31",
		"resources": map[string]any{"secret": map[string]any{"type": "OS::Heat::RandomString"}},
		"outputs":   map[string]any{"password": map[string]any{"value": map[string]any{"get_attr": []any{"secret", "value"}}}}}
	scenario(t, []step{
		{action: "heat.stacks_create", save: "stack", in: in(map[string]any{"stack_name": "app", "template": template, "parameters": map[string]any{"size": 1}}),
			req: &wantReq{method: "POST", path: "stacks"},
			check: func(t *testing.T, c *fakecloud.Cloud, out any, _ vars) {
				require.NotEmpty(t, field(out, "stack.id"), "heatclient returns the body: {stack: {id, links}}")
				body := c.APIRequests()[len(c.APIRequests())-1].JSON()
				require.Equal(t, "app", body["stack_name"])
				require.Equal(t, map[string]any{"size": 1.0}, body["parameters"])
			}},
		{action: "heat.stacks_get", in: in(map[string]any{"stack_id": "app"}), requests: 2,
			req: &wantReq{method: "GET", path: "stacks/app/stack-0001", query: map[string]string{"resolve_outputs": "true"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"stack_status": "CREATE_COMPLETE", "id": "stack-0001"})
			}},
		{action: "heat.resources_list", in: in(map[string]any{"stack_id": "app/stack-0001"}),
			req: &wantReq{method: "GET", path: "stacks/app/stack-0001/resources"},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out.([]any)[0], map[string]any{"resource_name": "secret"})
			}},
		{action: "heat.events_list", in: in(map[string]any{"stack_id": "app/stack-0001", "resource_name": "secret"}),
			req:   &wantReq{method: "GET", path: "stacks/app/stack-0001/resources/secret/events"},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) { require.Len(t, out, 1) }},
		{action: "heat.stacks_output_show", in: in(map[string]any{"stack_id": "app/stack-0001", "output_key": "password"}),
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"output.output_key": "password", "output.output_value": "value-of-password"})
			}},
		{action: "heat.resource_types_list",
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) { require.Contains(t, out, "OS::Nova::Server") }},
		{action: "heat.actions_suspend", in: in(map[string]any{"stack_id": "app/stack-0001"}),
			req: &wantReq{method: "POST", path: "stacks/app/stack-0001/actions", body: `{"suspend": null}`}},
		{action: "heat.stacks_delete", in: in(map[string]any{"stack_id": "app/stack-0001"}),
			req: &wantReq{method: "DELETE", path: "stacks/app/stack-0001"}},
		{action: "heat.stacks_get", in: in(map[string]any{"stack_id": "app"}), errType: "OpenStackAPIError",
			errMsg: "HeatAction.stacks.get failed: The Stack (app) could not be found. (HTTP 404)"},
	})
}

func TestSwift(t *testing.T) {
	hello := md5.Sum([]byte("hello"))
	scenario(t, []step{
		{action: "swift.put_container", in: in(map[string]any{"container": "logs", "headers": map[string]any{"X-Container-Meta-Color": "blue"}}),
			req: &wantReq{method: "PUT", path: "/logs", header: map[string]string{"X-Container-Meta-Color": "blue"}}},
		{action: "swift.head_container", in: in(map[string]any{"container": "logs"}),
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				hasFields(t, out, map[string]any{"x-container-meta-color": "blue", "x-container-object-count": "0"})
			}},
		{action: "swift.put_object", in: in(map[string]any{"container": "logs", "obj": "2024/a.txt", "contents": "hello", "content_type": "text/plain"}),
			req: &wantReq{method: "PUT", path: "/logs/2024/a.txt", header: map[string]string{"Content-Type": "text/plain"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				require.Equal(t, hex.EncodeToString(hello[:]), out, "put_object returns the ETag")
			}},
		{action: "swift.get_object", in: in(map[string]any{"container": "logs", "obj": "2024/a.txt"}),
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				pair := out.([]any)
				hasFields(t, pair[0], map[string]any{"content-type": "text/plain", "etag": hex.EncodeToString(hello[:])})
				require.Equal(t, "hello", pair[1])
			}},
		{action: "swift.get_container", in: in(map[string]any{"container": "logs", "prefix": "2024/"}),
			req: &wantReq{method: "GET", path: "/logs", query: map[string]string{"format": "json", "prefix": "2024/"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				pair := out.([]any)
				hasFields(t, pair[0], map[string]any{"x-container-object-count": "1"})
				require.Equal(t, []string{"2024/a.txt"}, names(pair[1]))
			}},
		{action: "swift.copy_object", in: in(map[string]any{"container": "logs", "obj": "2024/a.txt", "destination": "/logs/b.txt"}),
			req: &wantReq{method: "COPY", path: "/logs/2024/a.txt", header: map[string]string{"Destination": "/logs/b.txt"}}},
		{action: "swift.get_account",
			req: &wantReq{method: "GET", path: "/", query: map[string]string{"format": "json"}},
			check: func(t *testing.T, _ *fakecloud.Cloud, out any, _ vars) {
				pair := out.([]any)
				hasFields(t, pair[0], map[string]any{"x-account-object-count": "2"})
				hasFields(t, pair[1].([]any)[0], map[string]any{"name": "logs", "count": 2.0})
			}},
		{action: "swift.delete_container", in: in(map[string]any{"container": "logs"}), errType: "OpenStackAPIError",
			errMsg: "SwiftAction.delete_container failed: Conflict There was a conflict when trying to complete your request. (HTTP 409)"},
		{action: "swift.delete_object", in: in(map[string]any{"container": "logs", "obj": "2024/a.txt"}),
			req: &wantReq{method: "DELETE", path: "/logs/2024/a.txt"}},
	})
}
