package fakecloud

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// neutronResources are the networking collections: URL path, singular.
var neutronResources = []struct{ path, singular string }{
	{"networks", "network"},
	{"subnets", "subnet"},
	{"ports", "port"},
	{"routers", "router"},
	{"floatingips", "floatingip"},
	{"security-groups", "security_group"},
	{"security-group-rules", "security_group_rule"},
	{"subnetpools", "subnetpool"},
	{"metering/metering-labels", "metering_label"},
	{"metering/metering-label-rules", "metering_label_rule"},
}

func handleNetwork(c *Cloud, x *exchange) {
	host := "http://" + x.r.Host
	switch {
	case len(x.path) == 0:
		x.json(http.StatusOK, map[string]any{"versions": []any{map[string]any{"id": "v2.0", "status": "CURRENT",
			"links": []any{map[string]any{"rel": "self", "href": host + "/networking/v2.0/"}}}}})
		return
	case !x.trim("v2.0", false):
		x.fail(neutronErrors, http.StatusNotFound, "The resource could not be found.")
		return
	}
	if !c.authorized(x) {
		return
	}
	for _, nr := range neutronResources {
		col := strings.ReplaceAll(nr.singular, "-", "_") + "s"
		res := resource{col: col, path: nr.path, singular: nr.singular, plural: col, errs: neutronErrors,
			create: func(o map[string]any) { c.neutronDefaults(x, nr.singular, o) }}
		if vars, ok := x.match("PUT", nr.path+"/*"); ok {
			c.neutronUpdate(x, res, vars[0])
			return
		}
		if _, ok := x.match("POST", nr.path); ok && nr.singular == "subnet" {
			if x.st.get("networks", fmt.Sprint(x.member("subnet")["network_id"])) == nil {
				x.fail(neutronErrors, http.StatusNotFound, fmt.Sprintf("Network %v could not be found.", x.member("subnet")["network_id"]))
				return
			}
		}
		if c.crud(x, res) {
			return
		}
	}
	if vars, ok := x.match("PUT", "routers/*/add_router_interface"); ok {
		c.routerInterface(x, vars[0], true)
		return
	}
	if vars, ok := x.match("PUT", "routers/*/remove_router_interface"); ok {
		c.routerInterface(x, vars[0], false)
		return
	}
	switch {
	case x.is("GET", "extensions"):
		x.json(http.StatusOK, map[string]any{"extensions": []any{neutronExtension}})
	case x.is("GET", "extensions/router"):
		x.json(http.StatusOK, map[string]any{"extension": neutronExtension})
	case x.is("GET", "agents"):
		x.json(http.StatusOK, map[string]any{"agents": []any{map[string]any{"id": "agent-l3", "agent_type": "L3 agent",
			"binary": "neutron-l3-agent", "host": "network-1", "alive": true, "admin_state_up": true}}})
	case x.is("GET", "quotas"):
		x.json(http.StatusOK, map[string]any{"quotas": orEmpty(toAny(x.st.list("neutron_quotas")))})
	case x.is("GET", "quotas/tenant"):
		x.json(http.StatusOK, map[string]any{"tenant": map[string]any{"tenant_id": ProjectID}})
	case x.is("GET", "service-providers"):
		x.json(http.StatusOK, map[string]any{"service_providers": []any{}})
	default:
		if vars, ok := x.match("GET", "quotas/*"); ok {
			x.json(http.StatusOK, map[string]any{"quota": c.neutronQuota(x, vars[0])})
			return
		}
		if vars, ok := x.match("PUT", "quotas/*"); ok {
			q := c.neutronQuota(x, vars[0])
			for k, v := range x.member("quota") {
				q[k] = v
			}
			q["id"] = vars[0]
			x.st.put("neutron_quotas", q, c.newID)
			x.json(http.StatusOK, map[string]any{"quota": withoutKey(q, "id")})
			return
		}
		x.fail(neutronErrors, http.StatusNotFound, "The resource could not be found.")
	}
}

var neutronExtension = map[string]any{"alias": "router", "name": "Neutron L3 Router", "updated": "2012-07-20T10:00:00-00:00",
	"description": "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.", "links": []any{}}

func (c *Cloud) neutronQuota(x *exchange, project string) map[string]any {
	if q := x.st.get("neutron_quotas", project); q != nil {
		return withoutKey(q, "id")
	}
	return map[string]any{"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50, "security_group": 10, "security_group_rule": 100}
}

// neutronDefaults fills what neutron sets on a new resource.
func (c *Cloud) neutronDefaults(x *exchange, kind string, o map[string]any) {
	setDefault(o, "name", "")
	setDefault(o, "description", "")
	o["tenant_id"], o["project_id"] = ProjectID, ProjectID
	o["revision_number"], o["created_at"], o["updated_at"] = 1, now(), now()
	o["tags"] = []any{}
	switch kind {
	case "network":
		for k, v := range map[string]any{"status": "ACTIVE", "admin_state_up": true, "shared": false, "router:external": false,
			"subnets": []any{}, "mtu": 1450, "port_security_enabled": true, "availability_zones": []any{"nova"}} {
			setDefault(o, k, v)
		}
	case "subnet":
		setDefault(o, "ip_version", 4)
		setDefault(o, "enable_dhcp", true)
		setDefault(o, "gateway_ip", strings.TrimSuffix(fmt.Sprint(o["cidr"]), "0/24")+"1")
		setDefault(o, "dns_nameservers", []any{})
		setDefault(o, "host_routes", []any{})
		setDefault(o, "subnetpool_id", nil)
	case "port":
		setDefault(o, "status", "DOWN")
		setDefault(o, "admin_state_up", true)
		setDefault(o, "device_id", "")
		setDefault(o, "device_owner", "")
		setDefault(o, "fixed_ips", []any{})
		setDefault(o, "mac_address", "fa:16:3e:"+strconv.Itoa(10+len(x.st.list("ports")))+":00:01")
	case "router":
		setDefault(o, "status", "ACTIVE")
		setDefault(o, "admin_state_up", true)
		setDefault(o, "external_gateway_info", nil)
		setDefault(o, "routes", []any{})
	case "floatingip":
		setDefault(o, "status", "DOWN")
		setDefault(o, "port_id", nil)
		setDefault(o, "fixed_ip_address", nil)
		setDefault(o, "router_id", nil)
		setDefault(o, "floating_ip_address", "172.24.4."+strconv.Itoa(100+len(x.st.list("floatingips"))))
	case "security_group":
		setDefault(o, "security_group_rules", []any{})
		setDefault(o, "stateful", true)
	case "security_group_rule":
		for _, k := range []string{"protocol", "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id"} {
			setDefault(o, k, nil)
		}
		setDefault(o, "ethertype", "IPv4")
	}
}

// neutronUpdate is PUT on a resource, which honours If-Match:
// revision_number=N and raises the revision.
func (c *Cloud) neutronUpdate(x *exchange, res resource, id string) {
	obj := x.st.get(res.col, id)
	if obj == nil {
		x.fail(neutronErrors, http.StatusNotFound, fmt.Sprintf("%s %s could not be found.", strings.ToUpper(res.singular[:1])+res.singular[1:], id))
		return
	}
	if m := x.r.Header.Get("If-Match"); m != "" {
		want := strings.TrimPrefix(m, "revision_number=")
		if want != fmt.Sprint(obj["revision_number"]) {
			x.json(http.StatusPreconditionFailed, map[string]any{"NeutronError": map[string]any{"type": "RevisionNumberConstraintFailed",
				"message": fmt.Sprintf("Constrained to %s, but current revision is %v", want, obj["revision_number"]), "detail": ""}})
			return
		}
	}
	in := x.member(res.singular)
	if in == nil {
		x.fail(neutronErrors, http.StatusBadRequest, "Resource body required")
		return
	}
	for k, v := range in {
		obj[k] = v
	}
	rev, _ := strconv.Atoi(fmt.Sprint(obj["revision_number"]))
	obj["revision_number"], obj["updated_at"] = rev+1, now()
	x.json(http.StatusOK, map[string]any{res.singular: obj})
}

// routerInterface is PUT /routers/{id}/add_router_interface and
// remove_router_interface with {"subnet_id"} or {"port_id"}.
func (c *Cloud) routerInterface(x *exchange, id string, add bool) {
	if x.st.get("routers", id) == nil {
		x.fail(neutronErrors, http.StatusNotFound, fmt.Sprintf("Router %s could not be found.", id))
		return
	}
	subnetID, _ := x.body["subnet_id"].(string)
	portID, _ := x.body["port_id"].(string)
	if subnetID == "" && portID == "" {
		x.fail(neutronErrors, http.StatusBadRequest, "Bad router request: Either subnet_id or port_id must be specified.")
		return
	}
	subnet := x.st.get("subnets", subnetID)
	if subnetID != "" && subnet == nil {
		x.fail(neutronErrors, http.StatusNotFound, fmt.Sprintf("Subnet %s could not be found.", subnetID))
		return
	}
	if add && portID == "" {
		port := map[string]any{"network_id": subnet["network_id"], "device_id": id, "device_owner": "network:router_interface",
			"fixed_ips": []any{map[string]any{"subnet_id": subnetID, "ip_address": subnet["gateway_ip"]}}}
		c.neutronDefaults(x, "port", port)
		portID = fmt.Sprint(x.st.put("ports", port, c.newID)["id"])
	}
	out := map[string]any{"id": id, "tenant_id": ProjectID, "port_id": portID, "subnet_id": subnetID, "subnet_ids": []any{subnetID}}
	if subnet != nil {
		out["network_id"] = subnet["network_id"]
	}
	x.json(http.StatusOK, out)
}
