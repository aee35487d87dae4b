package fakecloud

import (
	"fmt"
	"net/http"
	"sort"
)

func handleOrchestration(c *Cloud, x *exchange) {
	host := "http://" + x.r.Host
	switch {
	case len(x.path) == 0:
		x.json(http.StatusMultipleChoices, map[string]any{"versions": []any{map[string]any{"id": "v1.0", "status": "CURRENT",
			"links": []any{map[string]any{"rel": "self", "href": host + "/heat-api/v1/"}}}}})
		return
	case !x.trim("v1", true):
		x.fail(heatErrors, http.StatusNotFound, "The resource could not be found.")
		return
	}
	if !c.authorized(x) {
		return
	}
	if len(x.path) > 0 && x.path[0] == "stacks" {
		c.stacks(x, host)
		return
	}
	configs := resource{col: "software_configs", path: "software_configs", singular: "software_config", plural: "software_configs",
		errs: heatErrors, createStatus: http.StatusOK, create: func(o map[string]any) { o["creation_time"] = now() }}
	deployments := resource{col: "software_deployments", path: "software_deployments", singular: "software_deployment",
		plural: "software_deployments", errs: heatErrors, createStatus: http.StatusOK,
		create: func(o map[string]any) { setDefault(o, "status", "IN_PROGRESS"); o["creation_time"] = now() }}
	if _, ok := x.match("POST", "software_configs"); ok {
		x.body = map[string]any{"software_config": x.body}
	}
	if _, ok := x.match("POST", "software_deployments"); ok {
		x.body = map[string]any{"software_deployment": x.body}
	}
	if _, ok := x.match("PUT", "software_deployments/*"); ok {
		x.body = map[string]any{"software_deployment": x.body}
	}
	if vars, ok := x.match("GET", "software_deployments/metadata/*"); ok {
		var md []any
		for _, d := range x.st.list("software_deployments") {
			if d["server_id"] == vars[0] {
				md = append(md, d)
			}
		}
		x.json(http.StatusOK, map[string]any{"metadata": orEmpty(md)})
		return
	}
	for _, r := range []resource{configs, deployments} {
		if c.crud(x, r) {
			return
		}
	}
	switch {
	case x.is("GET", "resource_types"):
		x.json(http.StatusOK, map[string]any{"resource_types": []any{"OS::Heat::RandomString", "OS::Neutron::Net", "OS::Nova::Server"}})
	case x.is("GET", "template_versions"):
		x.json(http.StatusOK, map[string]any{"template_versions": []any{
			map[string]any{"version": "heat_template_version.2018-08-31", "type": "hot", "aliases": []any{"heat_template_version.rocky"}}}})
	case x.is("GET", "services"):
		x.json(http.StatusOK, map[string]any{"services": []any{map[string]any{"id": "engine-1", "binary": "heat-engine",
			"engine_id": "e1", "host": "orchestration-1", "hostname": "orchestration-1", "status": "up", "topic": "engine"}}})
	case x.is("GET", "build_info"):
		x.json(http.StatusOK, map[string]any{"api": map[string]any{"revision": "21.0.0"}, "engine": map[string]any{"revision": "21.0.0"}})
	case x.is("POST", "validate"):
		x.json(http.StatusOK, map[string]any{"Description": "No description", "Parameters": map[string]any{}})
	default:
		if vars, ok := x.match("GET", "resource_types/*"); ok {
			x.json(http.StatusOK, map[string]any{"resource_type": vars[0], "properties": map[string]any{}, "attributes": map[string]any{}})
			return
		}
		if vars, ok := x.match("GET", "template_versions/*/functions"); ok {
			x.json(http.StatusOK, map[string]any{"template_functions": []any{map[string]any{"functions": "get_param", "description": "A function for resolving parameter references. (" + vars[0] + ")"}}})
			return
		}
		x.fail(heatErrors, http.StatusNotFound, "The resource could not be found.")
	}
}

// findStack finds a stack by name or ID.
func findStack(x *exchange, nameOrID string) map[string]any {
	if s := x.st.get("stacks", nameOrID); s != nil {
		return s
	}
	for _, s := range x.st.list("stacks") {
		if s["stack_name"] == nameOrID {
			return s
		}
	}
	return nil
}

// stacks answers /stacks and below. A stack is named stacks/{name}/{id};
// stacks/{name or id} alone redirects there on GET (302), as heat does.
func (c *Cloud) stacks(x *exchange, host string) {
	if x.is("GET", "stacks") {
		var out []any
		for _, s := range x.st.list("stacks") {
			out = append(out, map[string]any{"id": s["id"], "stack_name": s["stack_name"], "stack_status": s["stack_status"],
				"stack_status_reason": s["stack_status_reason"], "creation_time": s["creation_time"], "description": s["description"],
				"tags": s["tags"], "links": s["links"]})
		}
		x.json(http.StatusOK, map[string]any{"stacks": orEmpty(out)})
		return
	}
	if x.is("POST", "stacks") {
		c.createStack(x, host)
		return
	}
	if x.is("POST", "stacks/preview") {
		x.json(http.StatusOK, map[string]any{"stack": map[string]any{"stack_name": x.body["stack_name"], "resources": []any{}, "parameters": x.body["parameters"]}})
		return
	}
	s := findStack(x, x.path[1])
	if s == nil {
		x.fail(heatErrors, http.StatusNotFound, fmt.Sprintf("The Stack (%s) could not be found.", x.path[1]))
		return
	}
	rest := x.path[2:]
	if len(rest) > 0 && rest[0] == s["id"] {
		rest = rest[1:]
	} else if x.r.Method == "GET" {
		loc := fmt.Sprintf("%s%s/stacks/%s/%s", host, x.r.URL.Path[:len(x.r.URL.Path)-len(joinPath(x.path))-1], s["stack_name"], s["id"])
		if len(rest) > 0 {
			loc += "/" + joinPath(rest)
		}
		if x.r.URL.RawQuery != "" {
			loc += "?" + x.r.URL.RawQuery
		}
		x.w.Header().Set("Location", loc)
		x.json(http.StatusFound, map[string]any{"explanation": "The resource was found at " + loc, "code": "302 Found", "title": "Found"})
		return
	}
	x.path = append([]string{"stack"}, rest...)
	id := fmt.Sprint(s["id"])
	switch {
	case x.is("GET", "stack"):
		x.json(http.StatusOK, map[string]any{"stack": s})
	case x.is("PUT", "stack"), x.is("PATCH", "stack"):
		for _, k := range []string{"template", "parameters", "environment", "tags", "timeout_mins"} {
			if v, ok := x.body[k]; ok {
				s[k] = v
			}
		}
		s["stack_status"], s["updated_time"] = "UPDATE_COMPLETE", now()
		x.empty(http.StatusAccepted)
	case x.is("DELETE", "stack"):
		x.st.delete("stacks", id)
		x.empty(http.StatusNoContent)
	case x.is("GET", "stack/template"):
		x.json(http.StatusOK, s["template"])
	case x.is("GET", "stack/environment"):
		env := s["environment"]
		if env == nil {
			env = map[string]any{"parameters": map[string]any{}, "resource_registry": map[string]any{}}
		}
		x.json(http.StatusOK, env)
	case x.is("GET", "stack/outputs"):
		x.json(http.StatusOK, map[string]any{"outputs": s["outputs"]})
	case x.is("POST", "stack/actions"):
		for k := range x.body {
			s["stack_status"] = map[string]string{"suspend": "SUSPEND_COMPLETE", "resume": "RESUME_COMPLETE",
				"check": "CHECK_COMPLETE", "cancel_update": "ROLLBACK_COMPLETE"}[k]
		}
		x.empty(http.StatusOK)
	case x.is("GET", "stack/resources"):
		x.json(http.StatusOK, map[string]any{"resources": orEmpty(toAny(x.st.list("resources:" + id)))})
	case x.is("GET", "stack/events"):
		x.json(http.StatusOK, map[string]any{"events": orEmpty(toAny(x.st.list("events:" + id)))})
	default:
		c.stackParts(x, s)
	}
}

func (c *Cloud) stackParts(x *exchange, s map[string]any) {
	id := fmt.Sprint(s["id"])
	if vars, ok := x.match("GET", "stack/outputs/*"); ok {
		outs, _ := s["outputs"].([]any)
		for _, o := range outs {
			if m, _ := o.(map[string]any); m["output_key"] == vars[0] {
				x.json(http.StatusOK, map[string]any{"output": m})
				return
			}
		}
		x.fail(heatErrors, http.StatusNotFound, fmt.Sprintf("Specified output key %s not found.", vars[0]))
		return
	}
	if len(x.path) >= 3 && x.path[1] == "resources" {
		r := x.st.get("resources:"+id, x.path[2])
		if r == nil {
			x.fail(heatErrors, http.StatusNotFound, fmt.Sprintf("The Resource (%s) could not be found.", x.path[2]))
			return
		}
		switch {
		case x.is("GET", "stack/resources/*"):
			x.json(http.StatusOK, map[string]any{"resource": r})
		case x.is("GET", "stack/resources/*/metadata"):
			x.json(http.StatusOK, map[string]any{"metadata": map[string]any{}})
		case x.is("POST", "stack/resources/*/signal"):
			r["resource_status_reason"] = "Signal: " + string(x.raw)
			x.json(http.StatusOK, nil)
		case x.is("PATCH", "stack/resources/*"):
			if x.body["mark_unhealthy"] == true {
				r["resource_status"] = "CHECK_FAILED"
			}
			r["resource_status_reason"] = x.body["resource_status_reason"]
			x.json(http.StatusOK, nil)
		case x.is("GET", "stack/resources/*/events"):
			var out []any
			for _, e := range x.st.list("events:" + id) {
				if e["resource_name"] == x.path[2] {
					out = append(out, e)
				}
			}
			x.json(http.StatusOK, map[string]any{"events": orEmpty(out)})
		case x.is("GET", "stack/resources/*/events/*"):
			e := x.st.get("events:"+id, x.path[4])
			if e == nil {
				x.fail(heatErrors, http.StatusNotFound, fmt.Sprintf("The Event (%s) could not be found.", x.path[4]))
				return
			}
			x.json(http.StatusOK, map[string]any{"event": e})
		default:
			x.fail(heatErrors, http.StatusNotFound, "The resource could not be found.")
		}
		return
	}
	x.fail(heatErrors, http.StatusNotFound, "The resource could not be found.")
}

func joinPath(p []string) string {
	out := ""
	for i, s := range p {
		if i > 0 {
			out += "/"
		}
		out += s
	}
	return out
}

// createStack is POST /stacks: the stack is CREATE_COMPLETE at once, with
// a resource and an event per resource of its template and the outputs
// the template declares.
func (c *Cloud) createStack(x *exchange, host string) {
	name, _ := x.body["stack_name"].(string)
	if name == "" {
		x.fail(heatErrors, http.StatusBadRequest, "The Parameter (stack_name) was not provided.")
		return
	}
	if findStack(x, name) != nil {
		x.fail(heatErrors, http.StatusConflict, fmt.Sprintf("The Stack (%s) already exists.", name))
		return
	}
	tmpl, _ := x.body["template"].(map[string]any)
	s := map[string]any{"stack_name": name, "stack_status": "CREATE_COMPLETE", "stack_status_reason": "Stack CREATE completed successfully",
		"creation_time": now(), "updated_time": nil, "description": "No description",
		"parameters": x.body["parameters"], "template": tmpl, "environment": x.body["environment"], "tags": x.body["tags"],
		"disable_rollback": true, "timeout_mins": x.body["timeout_mins"], "stack_owner": Username, "project": ProjectID}
	if d, ok := tmpl["description"].(string); ok {
		s["description"] = d
	}
	s = x.st.put("stacks", s, c.newID)
	id := fmt.Sprint(s["id"])
	self := fmt.Sprintf("%s/heat-api/v1/%s/stacks/%s/%s", host, ProjectID, name, id)
	s["links"] = []any{map[string]any{"href": self, "rel": "self"}}
	var outs []any
	if o, ok := tmpl["outputs"].(map[string]any); ok {
		for _, k := range sortedKeys(o) {
			outs = append(outs, map[string]any{"output_key": k, "output_value": "value-of-" + k, "description": "No description given"})
		}
	}
	s["outputs"] = orEmpty(outs)
	if res, ok := tmpl["resources"].(map[string]any); ok {
		names := make([]string, 0, len(res))
		for k := range res {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, rn := range names {
			def, _ := res[rn].(map[string]any)
			x.st.put("resources:"+id, map[string]any{"id": rn, "resource_name": rn, "resource_type": def["type"],
				"resource_status": "CREATE_COMPLETE", "resource_status_reason": "state changed", "physical_resource_id": "phys-" + rn,
				"logical_resource_id": rn, "updated_time": now(), "required_by": []any{}}, c.newID)
			x.st.put("events:"+id, map[string]any{"resource_name": rn, "resource_status": "CREATE_COMPLETE",
				"resource_status_reason": "state changed", "physical_resource_id": "phys-" + rn, "logical_resource_id": rn, "event_time": now()}, c.newID)
		}
	}
	x.json(http.StatusCreated, map[string]any{"stack": map[string]any{"id": id, "links": s["links"]}})
}
