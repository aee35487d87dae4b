package fakecloud

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// catalog is the service catalog of a token: every service in both
// regions, public, internal and admin, as devstack lays them out.
func (c *Cloud) catalog(host string) []any {
	type svc struct{ typ, name, path string }
	svcs := []svc{
		{"identity", "keystone", "/identity"},
		{"compute", "nova", "/compute/v2.1/" + ProjectID},
		{"image", "glance", "/image"},
		{"network", "neutron", "/networking"},
		{"block-storage", "cinder", "/volume/v3/" + ProjectID},
		{"volumev3", "cinderv3", "/volume/v3/" + ProjectID},
		{"orchestration", "heat", "/heat-api/v1/" + ProjectID},
		{"object-store", "swift", "/swift/v1/AUTH_" + ProjectID},
	}
	var out []any
	for i, s := range svcs {
		var eps []any
		for _, r := range []struct{ name, prefix string }{{RegionOne, ""}, {RegionTwo, "/r2"}} {
			for _, iface := range []string{"public", "internal", "admin"} {
				eps = append(eps, map[string]any{
					"id": fmt.Sprintf("ep-%s-%s-%s", s.name, r.name, iface), "interface": iface,
					"region": r.name, "region_id": r.name, "url": host + r.prefix + s.path,
				})
			}
		}
		out = append(out, map[string]any{"id": fmt.Sprintf("svc-%d", i), "type": s.typ, "name": s.name, "endpoints": eps})
	}
	return out
}

func handleIdentity(c *Cloud, x *exchange) {
	host := "http://" + x.r.Host
	version := map[string]any{"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []any{map[string]any{"rel": "self", "href": host + "/identity/v3/"}},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}}}
	switch {
	case len(x.path) == 0 && x.r.Method == "GET":
		x.json(http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{version}}})
		return
	case !x.trim("v3", false):
		x.fail(keystoneErrors, http.StatusNotFound, "The resource could not be found.")
		return
	case len(x.path) == 0:
		x.json(http.StatusOK, map[string]any{"version": version})
		return
	}
	if _, ok := x.match("POST", "auth/tokens"); ok {
		c.issueToken(x, host)
		return
	}
	if !c.authorized(x) {
		return
	}
	if _, ok := x.match("GET", "auth/tokens"); ok {
		if !c.tokens[x.r.Header.Get("X-Subject-Token")] {
			x.fail(keystoneErrors, http.StatusNotFound, "Could not find token.")
			return
		}
		x.w.Header().Set("X-Subject-Token", x.r.Header.Get("X-Subject-Token"))
		x.json(http.StatusOK, c.tokenBody([]string{"token"}, host, true))
		return
	}
	c.identityAdmin(x)
}

// issueToken is POST /v3/auth/tokens with a password, a token or an
// application credential, scoped to the demo project (or unscoped).
func (c *Cloud) issueToken(x *exchange, host string) {
	deny := func(why string) {
		x.fail(keystoneErrors, http.StatusUnauthorized, "The request you have made requires authentication. ("+why+")")
	}
	auth := x.member("auth")
	identity, _ := auth["identity"].(map[string]any)
	methods, _ := identity["methods"].([]any)
	if len(methods) != 1 {
		x.fail(keystoneErrors, http.StatusBadRequest, "Expecting to find identity.methods in auth.")
		return
	}
	method, _ := methods[0].(string)
	switch method {
	case "password":
		pw, _ := identity["password"].(map[string]any)
		user, _ := pw["user"].(map[string]any)
		dom, _ := user["domain"].(map[string]any)
		switch {
		case user["id"] == UserID:
		case user["name"] == Username && (dom["name"] == DomainName || dom["id"] == DomainID):
		default:
			deny("unknown user")
			return
		}
		if user["password"] != Password {
			deny("wrong password")
			return
		}
	case "token":
		tok, _ := identity["token"].(map[string]any)
		id, _ := tok["id"].(string)
		if !c.tokens[id] {
			deny("unknown token")
			return
		}
	case "application_credential":
		ac, _ := identity["application_credential"].(map[string]any)
		if ac["id"] != AppCredID || ac["secret"] != AppCredSecret {
			deny("wrong application credential")
			return
		}
	default:
		deny("unsupported method " + method)
		return
	}
	scoped := false
	if scope, ok := auth["scope"].(map[string]any); ok {
		p, _ := scope["project"].(map[string]any)
		dom, _ := p["domain"].(map[string]any)
		switch {
		case p["id"] == ProjectID:
		case p["name"] == ProjectName && (dom["name"] == DomainName || dom["id"] == DomainID):
		default:
			deny("unknown project")
			return
		}
		scoped = true
	} else if method == "application_credential" {
		scoped = true // an application credential carries its project
	}
	c.authN++
	token := fmt.Sprintf("tok-%d", c.authN)
	c.tokens[token] = true
	x.w.Header().Set("X-Subject-Token", token)
	x.json(http.StatusCreated, c.tokenBody([]string{method}, host, scoped))
}

func (c *Cloud) tokenBody(methods []string, host string, scoped bool) map[string]any {
	now := time.Now().UTC()
	tok := map[string]any{
		"methods":    methods,
		"issued_at":  now.Format("2006-01-02T15:04:05.000000Z"),
		"expires_at": now.Add(time.Hour).Format("2006-01-02T15:04:05.000000Z"),
		"user": map[string]any{"id": UserID, "name": Username, "password_expires_at": nil,
			"domain": map[string]any{"id": DomainID, "name": DomainName}},
		"audit_ids": []any{"fake-audit"},
	}
	if scoped {
		tok["project"] = map[string]any{"id": ProjectID, "name": ProjectName, "domain": map[string]any{"id": DomainID, "name": DomainName}}
		tok["roles"] = []any{map[string]any{"id": "role-member", "name": "member"}, map[string]any{"id": "role-admin", "name": "admin"}}
		tok["catalog"] = c.catalog(host)
		tok["is_domain"] = false
	}
	return map[string]any{"token": tok}
}

// identityAdmin answers the identity API's resources.
func (c *Cloud) identityAdmin(x *exchange) {
	create := func(defaults map[string]any) func(map[string]any) {
		return func(o map[string]any) {
			for k, v := range defaults {
				if _, ok := o[k]; !ok {
					o[k] = v
				}
			}
			o["links"] = map[string]any{"self": "http://" + x.r.Host + x.r.URL.Path}
		}
	}
	res := func(col, singular string, defaults map[string]any) resource {
		return resource{col: col, path: col, singular: singular, plural: col, errs: keystoneErrors,
			pages: keystonePages, updateMethod: "PATCH", create: create(defaults)}
	}
	for _, r := range []resource{
		res("projects", "project", map[string]any{"domain_id": DomainID, "enabled": true, "description": "", "is_domain": false, "parent_id": DomainID, "tags": []any{}}),
		res("users", "user", map[string]any{"domain_id": DomainID, "enabled": true, "password_expires_at": nil, "options": map[string]any{}}),
		res("groups", "group", map[string]any{"domain_id": DomainID, "description": ""}),
		res("domains", "domain", map[string]any{"enabled": true, "description": "", "tags": []any{}}),
		res("roles", "role", map[string]any{"domain_id": nil, "description": nil, "options": map[string]any{}}),
		res("regions", "region", map[string]any{"description": "", "parent_region_id": nil}),
		res("services", "service", map[string]any{"enabled": true}),
		res("endpoints", "endpoint", map[string]any{"enabled": true, "interface": "public", "region_id": nil}),
		res("policies", "policy", nil),
		res("credentials", "credential", nil),
		{col: "trusts", path: "OS-TRUST/trusts", singular: "trust", plural: "trusts", errs: keystoneErrors, pages: keystonePages,
			create: create(map[string]any{"impersonation": false, "remaining_uses": nil, "expires_at": nil})},
	} {
		if c.crud(x, r) {
			return
		}
	}
	// Memberships and role assignments are kept as resources of their own.
	if vars, ok := x.matchAny([]string{"PUT", "HEAD", "DELETE"}, "groups/*/users/*"); ok {
		c.relation(x, "memberships", vars[0]+"/"+vars[1], nil)
		return
	}
	for _, pat := range []string{"projects/*/users/*/roles/*", "projects/*/groups/*/roles/*", "domains/*/users/*/roles/*", "domains/*/groups/*/roles/*"} {
		if vars, ok := x.matchAny([]string{"PUT", "HEAD", "DELETE"}, pat); ok {
			parts := strings.Split(pat, "/")
			scope := strings.TrimSuffix(parts[0], "s")
			actor := strings.TrimSuffix(parts[2], "s")
			a := map[string]any{
				"role":  map[string]any{"id": vars[2]},
				actor:   map[string]any{"id": vars[1]},
				"scope": map[string]any{scope: map[string]any{"id": vars[0]}},
			}
			c.relation(x, "role_assignments", strings.Join(vars, "/")+"/"+scope+actor, a)
			return
		}
	}
	if _, ok := x.match("GET", "role_assignments"); ok {
		q := x.r.URL.Query()
		var out []any
		for _, a := range x.st.list("role_assignments") {
			if keep(a, "user", q.Get("user.id")) && keep(a, "group", q.Get("group.id")) && keep(a, "role", q.Get("role.id")) &&
				keepScope(a, "project", q.Get("scope.project.id")) && keepScope(a, "domain", q.Get("scope.domain.id")) {
				out = append(out, withoutKey(a, "id"))
			}
		}
		x.json(http.StatusOK, map[string]any{"role_assignments": orEmpty(out), "links": map[string]any{"self": "http://" + x.r.Host + x.r.URL.Path, "next": nil, "previous": nil}})
		return
	}
	if vars, ok := x.matchAny([]string{"PUT", "HEAD", "DELETE"}, "OS-EP-FILTER/projects/*/endpoints/*"); ok {
		c.relation(x, "endpoint_filters", vars[0]+"/"+vars[1], map[string]any{"project_id": vars[0], "endpoint_id": vars[1]})
		return
	}
	if vars, ok := x.match("GET", "OS-EP-FILTER/projects/*/endpoints"); ok {
		var out []any
		for _, f := range x.st.list("endpoint_filters") {
			if f["project_id"] == vars[0] {
				if ep := x.st.get("endpoints", fmt.Sprint(f["endpoint_id"])); ep != nil {
					out = append(out, ep)
				}
			}
		}
		x.json(http.StatusOK, map[string]any{"endpoints": orEmpty(out)})
		return
	}
	x.fail(keystoneErrors, http.StatusNotFound, "The resource could not be found.")
}

// relation is PUT (create), HEAD (check) and DELETE of a link between two
// resources; all answer 204, HEAD and DELETE 404 when it is not there.
func (c *Cloud) relation(x *exchange, col, id string, obj map[string]any) {
	switch x.r.Method {
	case "PUT":
		o := clone(obj)
		if o == nil {
			o = map[string]any{}
		}
		o["id"] = id
		x.st.put(col, o, c.newID)
		x.empty(http.StatusNoContent)
	case "HEAD":
		if x.st.get(col, id) == nil {
			x.empty(http.StatusNotFound)
			return
		}
		x.empty(http.StatusNoContent)
	case "DELETE":
		if !x.st.delete(col, id) {
			x.fail(keystoneErrors, http.StatusNotFound, "Could not find the relation "+id+".")
			return
		}
		x.empty(http.StatusNoContent)
	}
}

func (x *exchange) matchAny(methods []string, pattern string) ([]string, bool) {
	for _, m := range methods {
		if vars, ok := x.match(m, pattern); ok {
			return vars, true
		}
	}
	return nil, false
}

func keep(a map[string]any, key, want string) bool {
	if want == "" {
		return true
	}
	m, _ := a[key].(map[string]any)
	return m != nil && m["id"] == want
}

func keepScope(a map[string]any, key, want string) bool {
	if want == "" {
		return true
	}
	s, _ := a["scope"].(map[string]any)
	m, _ := s[key].(map[string]any)
	return m != nil && m["id"] == want
}

func withoutKey(m map[string]any, k string) map[string]any {
	out := clone(m)
	delete(out, k)
	return out
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}
