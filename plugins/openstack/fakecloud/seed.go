package fakecloud

// seed puts what a fresh devstack has in both regions: the cirros image,
// the m1 flavors, a private and a public network, the default domain and
// the demo project and user.
func (c *Cloud) seed() {
	for _, r := range []string{RegionOne, RegionTwo} {
		st := c.regions[r]
		c.putImage(st, map[string]any{"id": "img-cirros", "name": "cirros-0.6.2-x86_64-disk", "status": "active",
			"visibility": "public", "disk_format": "qcow2", "container_format": "bare", "size": 21430272,
			"min_disk": 0, "min_ram": 0, "protected": false, "tags": []any{}, "owner": ProjectID, "os_hidden": false,
			"checksum": "c8fc807773e5354afe61636071771906", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
			"schema": "/v2/schemas/image"})
		for _, f := range []struct {
			id, name         string
			ram, vcpus, disk int
		}{{"1", "m1.tiny", 512, 1, 1}, {"2", "m1.small", 2048, 1, 20}, {"3", "m1.medium", 4096, 2, 40}} {
			st.put("flavors", map[string]any{"id": f.id, "name": f.name, "ram": f.ram, "vcpus": f.vcpus, "disk": f.disk,
				"OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": false, "os-flavor-access:is_public": true,
				"swap": 0, "rxtx_factor": 1.0, "description": nil, "extra_specs": map[string]any{},
				"links": []any{map[string]any{"rel": "self", "href": "flavors/" + f.id}}}, c.newID)
		}
		for _, n := range []struct {
			id, name string
			external bool
		}{{"net-private", "private", false}, {"net-public", "public", true}} {
			o := map[string]any{"id": n.id, "name": n.name, "router:external": n.external}
			c.neutronDefaults(&exchange{st: st}, "network", o)
			st.put("networks", o, c.newID)
		}
		st.put("domains", map[string]any{"id": DomainID, "name": DomainName, "enabled": true, "description": "The default domain"}, c.newID)
		st.put("projects", map[string]any{"id": ProjectID, "name": ProjectName, "domain_id": DomainID, "enabled": true,
			"description": "", "is_domain": false, "parent_id": DomainID, "tags": []any{}}, c.newID)
		st.put("users", map[string]any{"id": UserID, "name": Username, "domain_id": DomainID, "enabled": true}, c.newID)
		for _, role := range []string{"member", "admin", "reader"} {
			st.put("roles", map[string]any{"id": "role-" + role, "name": role, "domain_id": nil}, c.newID)
		}
	}
}
