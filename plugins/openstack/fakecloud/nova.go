package fakecloud

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Compute API microversions the fake speaks.
const (
	novaMinVersion = "2.1"
	novaMaxVersion = "2.96"
)

func handleCompute(c *Cloud, x *exchange) {
	host := "http://" + x.r.Host
	prefix := "/compute"
	if x.region == RegionTwo {
		prefix = "/r2/compute"
	}
	v21 := map[string]any{"id": "v2.1", "status": "CURRENT", "version": novaMaxVersion, "min_version": novaMinVersion,
		"updated": "2013-07-23T11:33:21Z", "links": []any{map[string]any{"rel": "self", "href": host + prefix + "/v2.1/"}}}
	switch {
	case len(x.path) == 0:
		x.json(http.StatusOK, map[string]any{"versions": []any{
			map[string]any{"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z"}, v21}})
		return
	case len(x.path) == 1 && x.path[0] == "v2.1":
		x.json(http.StatusOK, map[string]any{"version": v21})
		return
	case !x.trim("v2.1", true):
		x.fail(novaErrors, http.StatusNotFound, "Not Found")
		return
	}
	if !c.authorized(x) {
		return
	}
	servers := resource{col: "servers", path: "servers", singular: "server", plural: "servers", detail: true,
		errs: novaErrors, createStatus: http.StatusAccepted, nameRegexp: true, missing: "Instance %s could not be found.",
		brief: func(o map[string]any) map[string]any {
			return map[string]any{"id": o["id"], "name": o["name"], "links": o["links"]}
		}}
	if _, ok := x.match("POST", "servers"); ok {
		c.createServer(x, host+prefix)
		return
	}
	if vars, ok := x.match("POST", "servers/*/action"); ok {
		c.serverAction(x, vars[0])
		return
	}
	if vars, ok := x.match("DELETE", "servers/*"); ok {
		if x.st.get("servers", vars[0]) == nil {
			x.fail(novaErrors, http.StatusNotFound, fmt.Sprintf("Instance %s could not be found.", vars[0]))
			return
		}
		x.st.delete("servers", vars[0])
		x.empty(http.StatusNoContent)
		return
	}
	if c.serverSubresource(x) {
		return
	}
	flavors := resource{col: "flavors", path: "flavors", singular: "flavor", plural: "flavors", detail: true,
		errs: novaErrors, createStatus: http.StatusOK, deleteStatus: http.StatusAccepted, missing: "Flavor %s could not be found.",
		create: func(o map[string]any) {
			if o["id"] == nil {
				delete(o, "id")
			}
			setDefault(o, "OS-FLV-EXT-DATA:ephemeral", 0)
			setDefault(o, "OS-FLV-DISABLED:disabled", false)
			setDefault(o, "os-flavor-access:is_public", true)
			setDefault(o, "swap", 0)
			setDefault(o, "rxtx_factor", 1.0)
			setDefault(o, "description", nil)
			setDefault(o, "extra_specs", map[string]any{})
		},
		brief: func(o map[string]any) map[string]any {
			return map[string]any{"id": o["id"], "name": o["name"], "links": o["links"], "description": o["description"]}
		}}
	keypairs := resource{col: "keypairs", path: "os-keypairs", singular: "keypair", plural: "keypairs", errs: novaErrors,
		createStatus: http.StatusOK, deleteStatus: http.StatusAccepted,
		create: func(o map[string]any) {
			setDefault(o, "type", "ssh")
			o["fingerprint"] = "7e:eb:ab:24:ba:d1:e1:88:ae:9a:fb:66:53:df:d3:bd"
			o["user_id"] = UserID
		}}
	if _, ok := x.match("GET", "os-keypairs"); ok {
		// Nova wraps each key pair of the list: [{"keypair": {...}}].
		var out []any
		for _, k := range x.st.list("keypairs") {
			out = append(out, map[string]any{"keypair": map[string]any{"name": k["name"], "public_key": k["public_key"], "fingerprint": k["fingerprint"], "type": k["type"]}})
		}
		x.json(http.StatusOK, map[string]any{"keypairs": orEmpty(out)})
		return
	}
	if _, ok := x.match("POST", "os-keypairs"); ok && atLeast(x, "2.92") && x.member("keypair")["public_key"] == nil {
		x.fail(novaErrors, http.StatusBadRequest, "Invalid input for field/attribute keypair. Value: {}. 'public_key' is a required property")
		return
	}
	serverGroups := resource{col: "server_groups", path: "os-server-groups", singular: "server_group", plural: "server_groups",
		errs: novaErrors, createStatus: http.StatusOK,
		create: func(o map[string]any) {
			setDefault(o, "members", []any{})
			o["project_id"], o["user_id"] = ProjectID, UserID
		}}
	aggregates := resource{col: "aggregates", path: "os-aggregates", singular: "aggregate", plural: "aggregates", errs: novaErrors,
		createStatus: http.StatusOK, deleteStatus: http.StatusOK,
		create: func(o map[string]any) {
			setDefault(o, "hosts", []any{})
			setDefault(o, "metadata", map[string]any{})
			o["created_at"] = now()
		}}
	for _, r := range []resource{servers, flavors, keypairs, serverGroups, aggregates} {
		if c.crud(x, r) {
			return
		}
	}
	switch {
	case x.is("GET", "os-availability-zone"), x.is("GET", "os-availability-zone/detail"):
		x.json(http.StatusOK, map[string]any{"availabilityZoneInfo": []any{
			map[string]any{"zoneName": "nova", "zoneState": map[string]any{"available": true}, "hosts": nil}}})
	case x.is("GET", "limits"):
		x.json(http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": map[string]any{
			"maxTotalInstances": 10, "maxTotalCores": 20, "maxTotalRAMSize": 51200, "totalInstancesUsed": len(x.st.list("servers")),
			"maxTotalKeypairs": 100, "maxServerMeta": 128, "maxServerGroups": 10, "maxServerGroupMembers": 10}}})
	case x.is("GET", "os-hypervisors/statistics"):
		x.json(http.StatusOK, map[string]any{"hypervisor_statistics": map[string]any{"count": 1, "vcpus": 8, "vcpus_used": 0,
			"memory_mb": 16384, "memory_mb_used": 512, "local_gb": 100, "local_gb_used": 0, "running_vms": len(x.st.list("servers"))}})
	case x.is("GET", "os-hypervisors"), x.is("GET", "os-hypervisors/detail"):
		x.json(http.StatusOK, map[string]any{"hypervisors": []any{map[string]any{"id": "hv-1", "hypervisor_hostname": "compute-1", "state": "up", "status": "enabled"}}})
	case x.is("GET", "os-services"):
		x.json(http.StatusOK, map[string]any{"services": []any{map[string]any{"id": "svc-compute-1", "binary": "nova-compute",
			"host": "compute-1", "zone": "nova", "status": "enabled", "state": "up", "disabled_reason": nil, "forced_down": false}}})
	default:
		if vars, ok := x.match("GET", "os-quota-sets/*"); ok {
			x.json(http.StatusOK, map[string]any{"quota_set": c.novaQuotas(x, vars[0])})
			return
		}
		if vars, ok := x.match("GET", "os-quota-sets/*/defaults"); ok {
			q := novaDefaultQuotas()
			q["id"] = vars[0]
			x.json(http.StatusOK, map[string]any{"quota_set": q})
			return
		}
		if vars, ok := x.match("PUT", "os-quota-sets/*"); ok {
			q := c.novaQuotas(x, vars[0])
			for k, v := range x.member("quota_set") {
				if k != "force" {
					q[k] = v
				}
			}
			x.st.put("nova_quotas", q, c.newID)
			delete(q, "id")
			x.json(http.StatusOK, map[string]any{"quota_set": q})
			return
		}
		x.fail(novaErrors, http.StatusNotFound, "The resource could not be found.")
	}
}

func (x *exchange) is(method, pattern string) bool {
	_, ok := x.match(method, pattern)
	return ok
}

func novaDefaultQuotas() map[string]any {
	return map[string]any{"instances": 10, "cores": 20, "ram": 51200, "key_pairs": 100, "metadata_items": 128,
		"server_groups": 10, "server_group_members": 10}
}

func (c *Cloud) novaQuotas(x *exchange, project string) map[string]any {
	if q := x.st.get("nova_quotas", project); q != nil {
		return clone(q)
	}
	q := novaDefaultQuotas()
	q["id"] = project
	return q
}

// atLeast says whether the request asks for microversion v or later.
func atLeast(x *exchange, v string) bool {
	got := x.r.Header.Get("X-OpenStack-Nova-API-Version")
	if got == "" {
		got = strings.TrimPrefix(x.r.Header.Get("OpenStack-API-Version"), "compute ")
	}
	return versionLess(v, got) || v == got
}

func versionLess(a, b string) bool {
	am, an := splitVersion(a)
	bm, bn := splitVersion(b)
	return am < bm || (am == bm && an < bn)
}

func splitVersion(v string) (int, int) {
	maj, min, _ := strings.Cut(v, ".")
	a, _ := strconv.Atoi(maj)
	b, _ := strconv.Atoi(min)
	return a, b
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05Z") }

func setDefault(o map[string]any, k string, v any) {
	if _, ok := o[k]; !ok {
		o[k] = v
	}
}

// createServer is POST /servers: it checks the flavor, the image and the
// networks as nova does, and the server is ACTIVE at once.
func (c *Cloud) createServer(x *exchange, root string) {
	in := x.member("server")
	if in == nil {
		x.fail(novaErrors, http.StatusBadRequest, "Invalid input for field/attribute server. Value: None.")
		return
	}
	name, _ := in["name"].(string)
	if name == "" {
		x.fail(novaErrors, http.StatusBadRequest, "Invalid input for field/attribute name.")
		return
	}
	flavor := x.st.get("flavors", fmt.Sprint(in["flavorRef"]))
	if flavor == nil {
		x.fail(novaErrors, http.StatusBadRequest, fmt.Sprintf("Flavor %v could not be found.", in["flavorRef"]))
		return
	}
	imageRef, _ := in["imageRef"].(string)
	if imageRef != "" && x.st.get("images", imageRef) == nil {
		x.fail(novaErrors, http.StatusBadRequest, fmt.Sprintf("Image %s could not be found.", imageRef))
		return
	}
	nets, hasNets := in["networks"]
	if !hasNets && atLeast(x, "2.37") {
		x.fail(novaErrors, http.StatusBadRequest, "Invalid input for field/attribute server. Value: "+string(x.raw)+". 'networks' is a required property")
		return
	}
	addresses := map[string]any{}
	if list, ok := nets.([]any); ok {
		for i, n := range list {
			m, _ := n.(map[string]any)
			netID := fmt.Sprint(m["uuid"])
			net := x.st.get("networks", netID)
			if net == nil {
				x.fail(novaErrors, http.StatusBadRequest, fmt.Sprintf("Network %s could not be found.", netID))
				return
			}
			addr := fmt.Sprintf("10.0.%d.%d", i, 10+len(x.st.list("servers")))
			if ip, ok := m["fixed_ip"].(string); ok {
				addr = ip
			}
			addresses[fmt.Sprint(net["name"])] = []any{map[string]any{"addr": addr, "version": 4, "OS-EXT-IPS:type": "fixed",
				"OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}}
		}
	}
	var groups []any
	if sgs, ok := in["security_groups"].([]any); ok {
		groups = sgs
	} else {
		groups = []any{map[string]any{"name": "default"}}
	}
	metadata, _ := in["metadata"].(map[string]any)
	if metadata == nil {
		metadata = map[string]any{}
	}
	srv := map[string]any{
		"name": name, "status": "ACTIVE", "tenant_id": ProjectID, "user_id": UserID, "metadata": metadata,
		"hostId": "f1e160ad2bf07084f3d3e0dfdd0795d80da18a60825322c15775c0dd", "addresses": addresses,
		"flavor": map[string]any{"vcpus": flavor["vcpus"], "ram": flavor["ram"], "disk": flavor["disk"],
			"ephemeral": flavor["OS-FLV-EXT-DATA:ephemeral"], "swap": flavor["swap"], "original_name": flavor["name"], "extra_specs": map[string]any{}},
		"image": "", "key_name": in["key_name"], "created": now(), "updated": now(), "progress": 0,
		"accessIPv4": "", "accessIPv6": "", "config_drive": "", "locked": false, "locked_reason": nil,
		"description": in["description"], "tags": []any{}, "security_groups": groups,
		"OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": "nova", "OS-EXT-STS:power_state": 1,
		"OS-EXT-STS:task_state": nil, "OS-EXT-STS:vm_state": "active", "OS-SRV-USG:launched_at": now(),
		"OS-SRV-USG:terminated_at": nil, "os-extended-volumes:volumes_attached": []any{},
		"trusted_image_certificates": nil, "server_groups": []any{},
	}
	if imageRef != "" {
		srv["image"] = map[string]any{"id": imageRef, "links": []any{map[string]any{"rel": "bookmark", "href": root + "/images/" + imageRef}}}
	}
	if az, ok := in["availability_zone"].(string); ok {
		srv["OS-EXT-AZ:availability_zone"] = az
	}
	srv = x.st.put("servers", srv, c.newID)
	id := srv["id"].(string)
	links := []any{map[string]any{"rel": "self", "href": root + "/v2.1/" + ProjectID + "/servers/" + id},
		map[string]any{"rel": "bookmark", "href": root + "/" + ProjectID + "/servers/" + id}}
	srv["links"] = links
	x.json(http.StatusAccepted, map[string]any{"server": map[string]any{
		"id": id, "links": links, "OS-DCF:diskConfig": "MANUAL", "security_groups": groups, "adminPass": "kFEFwzoMM6yG",
	}})
}

// serverStates are the status a server action leaves.
var serverStates = map[string]string{
	"os-start": "ACTIVE", "os-stop": "SHUTOFF", "reboot": "ACTIVE", "pause": "PAUSED", "unpause": "ACTIVE",
	"suspend": "SUSPENDED", "resume": "ACTIVE", "rescue": "RESCUE", "unrescue": "ACTIVE", "shelve": "SHELVED",
	"shelveOffload": "SHELVED_OFFLOADED", "unshelve": "ACTIVE", "resize": "VERIFY_RESIZE", "confirmResize": "ACTIVE",
	"revertResize": "ACTIVE", "migrate": "VERIFY_RESIZE", "os-migrateLive": "ACTIVE", "restore": "ACTIVE",
	"evacuate": "ACTIVE", "lock": "", "unlock": "", "resetNetwork": "", "changePassword": "", "trigger_crash_dump": "",
	"addSecurityGroup": "", "removeSecurityGroup": "", "createBackup": "", "createImage": "", "os-getConsoleOutput": "",
	"os-resetState": "", "rebuild": "ACTIVE", "forceDelete": "",
}

// serverAction is POST /servers/{id}/action.
func (c *Cloud) serverAction(x *exchange, id string) {
	srv := x.st.get("servers", id)
	if srv == nil {
		x.fail(novaErrors, http.StatusNotFound, fmt.Sprintf("Instance %s could not be found.", id))
		return
	}
	action, ok := x.action()
	if !ok {
		return
	}
	state, known := serverStates[action]
	if !known {
		x.fail(novaErrors, http.StatusBadRequest, fmt.Sprintf("There is no such action: %s", action))
		return
	}
	args := x.member(action)
	if state != "" {
		srv["status"] = state
	}
	switch action {
	case "lock", "unlock":
		srv["locked"] = action == "lock"
		if args != nil {
			srv["locked_reason"] = args["locked_reason"]
		}
	case "os-resetState":
		srv["status"] = strings.ToUpper(fmt.Sprint(args["state"]))
	case "forceDelete":
		x.st.delete("servers", id)
	case "rescue", "evacuate":
		x.json(http.StatusOK, map[string]any{"adminPass": "MySecretPass"})
		return
	case "os-getConsoleOutput":
		x.json(http.StatusOK, map[string]any{"output": "login: \n" + fmt.Sprint(srv["name"]) + " login: "})
		return
	case "createImage", "createBackup":
		img := c.putImage(x.st, map[string]any{"name": args["name"], "status": "queued", "visibility": "private", "tags": []any{}})
		x.json(http.StatusAccepted, map[string]any{"image_id": img["id"]})
		return
	case "rebuild":
		if name, ok := args["name"].(string); ok {
			srv["name"] = name
		}
		x.json(http.StatusAccepted, map[string]any{"server": srv})
		return
	case "addSecurityGroup":
		groups, _ := srv["security_groups"].([]any)
		srv["security_groups"] = append(groups, map[string]any{"name": args["name"]})
	}
	x.empty(http.StatusAccepted)
}

// serverSubresource answers the routes below /servers/{id}/.
func (c *Cloud) serverSubresource(x *exchange) bool {
	if len(x.path) < 3 || x.path[0] != "servers" {
		return false
	}
	id := x.path[1]
	srv := x.st.get("servers", id)
	if srv == nil {
		x.fail(novaErrors, http.StatusNotFound, fmt.Sprintf("Instance %s could not be found.", id))
		return true
	}
	switch {
	case x.is("GET", "servers/*/ips"):
		x.json(http.StatusOK, map[string]any{"addresses": srv["addresses"]})
	case x.is("POST", "servers/*/metadata"):
		md, _ := srv["metadata"].(map[string]any)
		for k, v := range x.member("metadata") {
			md[k] = v
		}
		x.json(http.StatusOK, map[string]any{"metadata": md})
	case x.is("PUT", "servers/*/metadata/*"):
		md, _ := srv["metadata"].(map[string]any)
		for k, v := range x.member("meta") {
			md[k] = v
		}
		x.json(http.StatusOK, map[string]any{"meta": x.member("meta")})
	case x.is("GET", "servers/*/os-interface"):
		x.json(http.StatusOK, map[string]any{"interfaceAttachments": orEmpty(toAny(x.st.list("interfaces:" + id)))})
	case x.is("POST", "servers/*/os-interface"):
		in := x.member("interfaceAttachment")
		att := map[string]any{"port_id": in["port_id"], "net_id": in["net_id"], "port_state": "ACTIVE",
			"mac_addr": "fa:16:3e:4c:2c:30", "fixed_ips": in["fixed_ips"]}
		if att["port_id"] == nil {
			att["port_id"] = "port-for-" + fmt.Sprint(in["net_id"])
		}
		att["id"] = att["port_id"]
		att = x.st.put("interfaces:"+id, att, c.newID)
		x.json(http.StatusOK, map[string]any{"interfaceAttachment": withoutKey(att, "id")})
	case x.is("GET", "servers/*/os-security-groups"):
		x.json(http.StatusOK, map[string]any{"security_groups": srv["security_groups"]})
	case x.is("POST", "servers/*/remote-consoles"):
		rc := x.member("remote_console")
		x.json(http.StatusOK, map[string]any{"remote_console": map[string]any{"protocol": rc["protocol"], "type": rc["type"],
			"url": "http://127.0.0.1:6080/vnc_auto.html?path=%3Ftoken%3Dfake"}})
	case x.is("GET", "servers/*/os-server-password"):
		x.json(http.StatusOK, map[string]any{"password": ""})
	case x.is("GET", "servers/*/diagnostics"):
		x.json(http.StatusOK, map[string]any{"state": "running", "driver": "libvirt", "uptime": 46664, "num_cpus": 1})
	case x.is("GET", "servers/*/os-volume_attachments"):
		x.json(http.StatusOK, map[string]any{"volumeAttachments": orEmpty(toAny(x.st.list("attachments:" + id)))})
	case x.is("POST", "servers/*/os-volume_attachments"):
		in := x.member("volumeAttachment")
		vol := x.st.get("volumes", fmt.Sprint(in["volumeId"]))
		if vol == nil {
			x.fail(novaErrors, http.StatusNotFound, fmt.Sprintf("Volume %v could not be found.", in["volumeId"]))
			return true
		}
		device, _ := in["device"].(string)
		att := map[string]any{"id": in["volumeId"], "volumeId": in["volumeId"], "serverId": id,
			"device": or(device, "/dev/vdb"), "tag": in["tag"], "delete_on_termination": in["delete_on_termination"]}
		vol["status"] = "in-use"
		x.json(http.StatusOK, map[string]any{"volumeAttachment": x.st.put("attachments:"+id, att, c.newID)})
	default:
		x.fail(novaErrors, http.StatusNotFound, "The resource could not be found.")
	}
	return true
}

func toAny(l []map[string]any) []any {
	out := make([]any, len(l))
	for i, m := range l {
		out[i] = m
	}
	return out
}
