package runner

import (
	"context"
	"fmt"
	"net/url"

	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/table"
)

// A handler runs a row whose python method is more than one request
// template: a read-modify-write, or a path chosen by which parameters are
// given. Rows name them with `handler:`; there are few on purpose.
type handler func(ctx context.Context, c *call, a *table.Action, args map[string]any) (any, error)

var handlers = map[string]handler{
	"glance_image_update": glanceImageUpdate,
	"keystone_role":       keystoneRole,
}

// HasHandler says whether name is a handler the runner knows.
func HasHandler(name string) bool { _, ok := handlers[name]; return ok }

// glanceImageUpdate is glanceclient's images.update: read the image, send
// a JSON patch that replaces the properties it has and adds the others
// (and removes remove_props), then read the image again.
func glanceImageUpdate(ctx context.Context, c *call, a *table.Action, args map[string]any) (any, error) {
	id, err := idOf("image_id", args["image_id"])
	if err != nil {
		return nil, err
	}
	imageURL := c.sc.ServiceURL("images", url.PathEscape(id))
	get := func() (map[string]any, error) {
		resp, err := c.send(ctx, &request{method: "GET", url: imageURL})
		if err != nil {
			return nil, err
		}
		img, ok := resp.json.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("GET %s did not answer an image: %s", imageURL, clip(resp.body))
		}
		delete(img, "self")
		return img, nil
	}
	img, err := get()
	if err != nil {
		return nil, err
	}
	var ops []any
	changed := map[string]bool{}
	for _, p := range a.Params {
		v, ok := args[p.Name]
		if !ok || p.In == table.InLocal || p.Name == "image_id" || p.Name == "remove_props" {
			continue
		}
		if p.In == table.InBodyMap {
			m, _ := v.(map[string]any)
			for _, k := range sortedKeys(m) {
				ops = append(ops, patchOp(img, k, m[k]))
				changed[k] = true
			}
			continue
		}
		ops = append(ops, patchOp(img, p.Key(), v))
		changed[p.Key()] = true
	}
	if rm, ok := args["remove_props"].([]any); ok {
		for _, k := range rm {
			name := text(k)
			if _, has := img[name]; has && !changed[name] {
				ops = append(ops, map[string]any{"op": "remove", "path": "/" + name})
			}
		}
	}
	if len(ops) > 0 {
		_, err := c.send(ctx, &request{
			method:  "PATCH",
			url:     imageURL,
			headers: map[string]string{"Content-Type": "application/openstack-images-v2.1-json-patch"},
			body:    ops,
		})
		if err != nil {
			return nil, err
		}
	}
	return get()
}

func patchOp(img map[string]any, k string, v any) map[string]any {
	op := "add"
	if _, has := img[k]; has {
		op = "replace"
	}
	return map[string]any{"op": op, "path": "/" + k, "value": v}
}

// keystoneRole is keystoneclient's roles.grant, revoke and check: the
// path names the actor (user or group) and the target (project, domain or
// system) that are given, e.g. PUT /projects/{p}/users/{u}/roles/{r}.
func keystoneRole(ctx context.Context, c *call, a *table.Action, args map[string]any) (any, error) {
	role, err := idOf("role", args["role"])
	if err != nil {
		return nil, err
	}
	var actor, actorID, target, targetID string
	for _, k := range []string{"user", "group"} {
		if v, ok := args[k]; ok && v != nil {
			if actor != "" {
				return nil, inputError("give a user or a group, not both")
			}
			if actorID, err = idOf(k, v); err != nil {
				return nil, err
			}
			actor = k + "s"
		}
	}
	for _, k := range []string{"project", "domain", "system"} {
		if v, ok := args[k]; ok && v != nil {
			if target != "" {
				return nil, inputError("give one of project, domain and system")
			}
			target = k + "s"
			if k == "system" {
				target, targetID = "system", "all"
				continue
			}
			if targetID, err = idOf(k, v); err != nil {
				return nil, err
			}
		}
	}
	if actor == "" || target == "" {
		return nil, inputError("a role is granted to a user or a group on a project, a domain or the system: give one of each")
	}
	parts := []string{target, targetID, actor, actorID, "roles", role}
	if target == "system" {
		parts = []string{"system", actor, actorID, "roles", role}
	}
	if inherited, _ := args["os_inherit_extension_inherited"].(bool); inherited {
		parts = append(append([]string{"OS-INHERIT"}, parts...), "inherited_to_projects")
	}
	esc := make([]string, len(parts))
	for i, p := range parts {
		esc[i] = url.PathEscape(p)
	}
	_, err = c.send(ctx, &request{method: a.Verb, url: c.sc.ServiceURL(esc...)})
	return nil, err
}
