package fakecloud

import (
	"fmt"
	"net/http"
	"strings"
)

func handleImage(c *Cloud, x *exchange) {
	host := "http://" + x.r.Host
	switch {
	case len(x.path) == 0:
		x.json(http.StatusMultipleChoices, map[string]any{"versions": []any{
			map[string]any{"id": "v2.16", "status": "CURRENT", "links": []any{map[string]any{"rel": "self", "href": host + "/image/v2/"}}},
			map[string]any{"id": "v2.15", "status": "SUPPORTED", "links": []any{map[string]any{"rel": "self", "href": host + "/image/v2/"}}},
		}})
		return
	case !x.trim("v2", false):
		x.fail(glanceErrors, http.StatusNotFound, "The resource could not be found.")
		return
	}
	if !c.authorized(x) {
		return
	}
	images := resource{col: "images", path: "images", plural: "images", errs: glanceErrors, pages: glancePages, missing: "No image found with ID %s",
		create: func(o map[string]any) {
			for k, v := range map[string]any{"status": "queued", "visibility": "shared", "protected": false, "tags": []any{},
				"min_disk": 0, "min_ram": 0, "size": nil, "checksum": nil, "os_hidden": false, "owner": ProjectID,
				"container_format": nil, "disk_format": nil, "virtual_size": nil, "created_at": now(), "updated_at": now()} {
				setDefault(o, k, v)
			}
			o["schema"] = "/v2/schemas/image"
		}}
	if _, ok := x.match("POST", "images"); ok {
		img := clone(x.body)
		if img == nil {
			img = map[string]any{}
		}
		images.create(img)
		x.json(http.StatusCreated, c.putImage(x.st, img))
		return
	}
	if vars, ok := x.match("PATCH", "images/*"); ok {
		c.patchImage(x, vars[0])
		return
	}
	if len(x.path) >= 2 && x.path[0] == "images" && x.st.get("images", x.path[1]) == nil && !(len(x.path) == 2 && x.r.Method == "GET") {
		x.fail(glanceErrors, http.StatusNotFound, fmt.Sprintf("No image found with ID %s", x.path[1]))
		return
	}
	switch {
	case x.is("POST", "images/*/actions/deactivate"), x.is("POST", "images/*/actions/reactivate"):
		img := x.st.get("images", x.path[1])
		img["status"] = map[string]string{"deactivate": "deactivated", "reactivate": "active"}[x.path[3]]
		x.empty(http.StatusNoContent)
		return
	case x.is("PUT", "images/*/file"):
		img := x.st.get("images", x.path[1])
		img["status"], img["size"] = "active", len(x.raw)
		x.empty(http.StatusNoContent)
		return
	case x.is("PUT", "images/*/tags/*"), x.is("DELETE", "images/*/tags/*"):
		img := x.st.get("images", x.path[1])
		tags, _ := img["tags"].([]any)
		var kept []any
		for _, t := range tags {
			if t != x.path[3] {
				kept = append(kept, t)
			}
		}
		if x.r.Method == "PUT" {
			kept = append(kept, x.path[3])
		}
		img["tags"] = orEmpty(kept)
		x.empty(http.StatusNoContent)
		return
	case x.is("GET", "images/*/members"):
		x.json(http.StatusOK, map[string]any{"members": orEmpty(toAny(x.st.list("members:" + x.path[1]))), "schema": "/v2/schemas/members"})
		return
	case x.is("POST", "images/*/members"):
		m := map[string]any{"id": x.body["member"], "member_id": x.body["member"], "image_id": x.path[1], "status": "pending",
			"created_at": now(), "updated_at": now(), "schema": "/v2/schemas/member"}
		x.json(http.StatusOK, withoutKey(x.st.put("members:"+x.path[1], m, c.newID), "id"))
		return
	case x.is("PUT", "images/*/members/*"), x.is("DELETE", "images/*/members/*"):
		m := x.st.get("members:"+x.path[1], x.path[3])
		if m == nil {
			x.fail(glanceErrors, http.StatusNotFound, fmt.Sprintf("%s not found in the member list of the image %s.", x.path[3], x.path[1]))
			return
		}
		if x.r.Method == "DELETE" {
			x.st.delete("members:"+x.path[1], x.path[3])
			x.empty(http.StatusNoContent)
			return
		}
		m["status"] = x.body["status"]
		x.json(http.StatusOK, withoutKey(m, "id"))
		return
	}
	if vars, ok := x.match("GET", "schemas/*"); ok {
		x.json(http.StatusOK, map[string]any{"name": vars[0], "properties": map[string]any{"id": map[string]any{"type": "string"}, "name": map[string]any{"type": []any{"null", "string"}}}})
		return
	}
	tasks := resource{col: "tasks", path: "tasks", plural: "tasks", errs: glanceErrors, pages: glancePages,
		create: func(o map[string]any) {
			o["status"], o["owner"], o["created_at"], o["result"], o["message"] = "pending", ProjectID, now(), nil, ""
		}}
	namespaces := resource{col: "namespaces", path: "metadefs/namespaces", plural: "namespaces", errs: glanceErrors, pages: glancePages,
		create: func(o map[string]any) {
			setDefault(o, "visibility", "private")
			setDefault(o, "protected", false)
			o["owner"], o["created_at"] = ProjectID, now()
		}}
	for _, r := range []resource{images, tasks, namespaces} {
		if c.crud(x, r) {
			return
		}
	}
	if x.is("GET", "metadefs/resource_types") {
		x.json(http.StatusOK, map[string]any{"resource_types": []any{map[string]any{"name": "OS::Nova::Server", "created_at": now()}}})
		return
	}
	x.fail(glanceErrors, http.StatusNotFound, "The resource could not be found.")
}

// putImage stores an image with its self and file links, which name it.
func (c *Cloud) putImage(st *store, img map[string]any) map[string]any {
	img = st.put("images", img, c.newID)
	id := fmt.Sprint(img["id"])
	img["self"], img["file"] = "/v2/images/"+id, "/v2/images/"+id+"/file"
	return img
}

// patchImage applies a JSON patch (application/openstack-images-v2.1-json-patch).
func (c *Cloud) patchImage(x *exchange, id string) {
	img := x.st.get("images", id)
	if img == nil {
		x.fail(glanceErrors, http.StatusNotFound, fmt.Sprintf("No image found with ID %s", id))
		return
	}
	if ct := x.r.Header.Get("Content-Type"); ct != "application/openstack-images-v2.1-json-patch" {
		x.fail(glanceErrors, http.StatusUnsupportedMediaType, "Unsupported Content-Type "+ct)
		return
	}
	var ops []map[string]any
	if err := jsonUnmarshal(x.raw, &ops); err != nil {
		x.fail(glanceErrors, http.StatusBadRequest, "The JSON patch is not a list of operations.")
		return
	}
	for _, op := range ops {
		path := strings.TrimPrefix(fmt.Sprint(op["path"]), "/")
		_, has := img[path]
		switch op["op"] {
		case "replace":
			if !has {
				x.fail(glanceErrors, http.StatusConflict, fmt.Sprintf("Property %s does not exist.", path))
				return
			}
			img[path] = op["value"]
		case "add":
			img[path] = op["value"]
		case "remove":
			if !has {
				x.fail(glanceErrors, http.StatusConflict, fmt.Sprintf("Property %s does not exist.", path))
				return
			}
			delete(img, path)
		default:
			x.fail(glanceErrors, http.StatusBadRequest, fmt.Sprintf("Invalid operation: %v", op["op"]))
			return
		}
	}
	img["updated_at"] = now()
	x.json(http.StatusOK, img)
}
