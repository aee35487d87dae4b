package fakecloud

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Object storage keeps containers (with their metadata headers) and
// objects (with their data, type, ETag and metadata headers).
func handleObjectStore(c *Cloud, x *exchange) {
	if !x.trim("v1", false) || len(x.path) == 0 || x.path[0] != "AUTH_"+ProjectID {
		swiftFail(x, http.StatusNotFound)
		return
	}
	x.path = x.path[1:]
	if !c.authorized(x) {
		return
	}
	// Object names may hold slashes: everything after the container.
	switch len(x.path) {
	case 0:
		c.swiftAccount(x)
	case 1:
		c.swiftContainer(x, x.path[0])
	default:
		c.swiftObject(x, x.path[0], strings.Join(x.path[1:], "/"))
	}
}

func swiftFail(x *exchange, status int) {
	x.w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	x.w.WriteHeader(status)
	if x.r.Method != "HEAD" {
		title := http.StatusText(status)
		fmt.Fprintf(x.w, "<html><h1>%s</h1><p>The resource could not be found.</p></html>", title)
	}
}

// metaHeaders stores the X-<kind>-Meta-* headers of the request into meta.
func metaHeaders(x *exchange, kind string, meta map[string]any) {
	prefix := "X-" + kind + "-Meta-"
	for k, v := range x.r.Header {
		if strings.HasPrefix(k, prefix) {
			meta[strings.ToLower(k)] = v[0]
		}
	}
}

func writeMeta(x *exchange, meta map[string]any) {
	for k, v := range meta {
		x.w.Header().Set(k, fmt.Sprint(v))
	}
}

func (c *Cloud) swiftAccount(x *exchange) {
	acct := x.st.get("swift_account", "account")
	if acct == nil {
		acct = x.st.put("swift_account", map[string]any{"id": "account", "meta": map[string]any{}}, c.newID)
	}
	meta, _ := acct["meta"].(map[string]any)
	containers := x.st.list("containers")
	objects, bytes := 0, 0
	for _, ct := range containers {
		for _, o := range x.st.list("objects:" + fmt.Sprint(ct["name"])) {
			objects++
			bytes += len(fmt.Sprint(o["data"]))
		}
	}
	h := x.w.Header()
	h.Set("X-Account-Container-Count", strconv.Itoa(len(containers)))
	h.Set("X-Account-Object-Count", strconv.Itoa(objects))
	h.Set("X-Account-Bytes-Used", strconv.Itoa(bytes))
	h.Set("X-Trans-Id", "tx-fake")
	switch x.r.Method {
	case "HEAD":
		writeMeta(x, meta)
		x.empty(http.StatusNoContent)
	case "POST":
		metaHeaders(x, "Account", meta)
		x.empty(http.StatusNoContent)
	case "GET":
		writeMeta(x, meta)
		var list []any
		names := make([]string, 0, len(containers))
		for _, ct := range containers {
			names = append(names, fmt.Sprint(ct["name"]))
		}
		sort.Strings(names)
		for _, n := range names {
			if !listed(x, n) {
				continue
			}
			objs := x.st.list("objects:" + n)
			size := 0
			for _, o := range objs {
				size += len(fmt.Sprint(o["data"]))
			}
			list = append(list, map[string]any{"name": n, "count": len(objs), "bytes": size, "last_modified": now()})
		}
		x.json(http.StatusOK, orEmpty(limitList(x, list)))
	default:
		swiftFail(x, http.StatusMethodNotAllowed)
	}
}

// listed applies a listing's prefix and marker to a name.
func listed(x *exchange, name string) bool {
	q := x.r.URL.Query()
	if p := q.Get("prefix"); p != "" && !strings.HasPrefix(name, p) {
		return false
	}
	if m := q.Get("marker"); m != "" && name <= m {
		return false
	}
	if e := q.Get("end_marker"); e != "" && name >= e {
		return false
	}
	return true
}

func limitList(x *exchange, l []any) []any {
	if n, err := strconv.Atoi(x.r.URL.Query().Get("limit")); err == nil && n >= 0 && n < len(l) {
		return l[:n]
	}
	return l
}

func (c *Cloud) swiftContainer(x *exchange, name string) {
	ct := x.st.get("containers", name)
	if x.r.Method == "PUT" {
		status := http.StatusAccepted
		if ct == nil {
			ct = x.st.put("containers", map[string]any{"name": name, "meta": map[string]any{}}, c.newID)
			status = http.StatusCreated
		}
		meta, _ := ct["meta"].(map[string]any)
		metaHeaders(x, "Container", meta)
		x.empty(status)
		return
	}
	if ct == nil {
		swiftFail(x, http.StatusNotFound)
		return
	}
	meta, _ := ct["meta"].(map[string]any)
	objs := x.st.list("objects:" + name)
	switch x.r.Method {
	case "HEAD", "GET":
		size := 0
		for _, o := range objs {
			size += len(fmt.Sprint(o["data"]))
		}
		x.w.Header().Set("X-Container-Object-Count", strconv.Itoa(len(objs)))
		x.w.Header().Set("X-Container-Bytes-Used", strconv.Itoa(size))
		writeMeta(x, meta)
		if x.r.Method == "HEAD" {
			x.empty(http.StatusNoContent)
			return
		}
		names := make([]string, 0, len(objs))
		byName := map[string]map[string]any{}
		for _, o := range objs {
			n := fmt.Sprint(o["name"])
			names = append(names, n)
			byName[n] = o
		}
		sort.Strings(names)
		var list []any
		for _, n := range names {
			if !listed(x, n) {
				continue
			}
			o := byName[n]
			list = append(list, map[string]any{"name": n, "hash": o["etag"], "bytes": len(fmt.Sprint(o["data"])),
				"content_type": o["content_type"], "last_modified": o["last_modified"]})
		}
		x.json(http.StatusOK, orEmpty(limitList(x, list)))
	case "POST":
		metaHeaders(x, "Container", meta)
		x.empty(http.StatusNoContent)
	case "DELETE":
		if len(objs) > 0 {
			x.w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			x.w.WriteHeader(http.StatusConflict)
			fmt.Fprint(x.w, "<html><h1>Conflict</h1><p>There was a conflict when trying to complete your request.</p></html>")
			return
		}
		x.st.delete("containers", name)
		x.empty(http.StatusNoContent)
	default:
		swiftFail(x, http.StatusMethodNotAllowed)
	}
}

func (c *Cloud) swiftObject(x *exchange, container, name string) {
	if x.st.get("containers", container) == nil {
		swiftFail(x, http.StatusNotFound)
		return
	}
	col := "objects:" + container
	o := x.st.get(col, name)
	switch x.r.Method {
	case "PUT":
		sum := md5.Sum(x.raw)
		etag := hex.EncodeToString(sum[:])
		if want := x.r.Header.Get("Etag"); want != "" && want != etag {
			x.w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		obj := map[string]any{"id": name, "name": name, "data": string(x.raw), "etag": etag, "last_modified": now(),
			"content_type": or(x.r.Header.Get("Content-Type"), "application/octet-stream"), "meta": map[string]any{}}
		metaHeaders(x, "Object", obj["meta"].(map[string]any))
		x.st.put(col, obj, c.newID)
		x.w.Header().Set("Etag", etag)
		x.empty(http.StatusCreated)
		return
	}
	if o == nil {
		swiftFail(x, http.StatusNotFound)
		return
	}
	meta, _ := o["meta"].(map[string]any)
	switch x.r.Method {
	case "HEAD", "GET":
		data := fmt.Sprint(o["data"])
		writeMeta(x, meta)
		x.w.Header().Set("Etag", fmt.Sprint(o["etag"]))
		x.w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		x.w.Header().Set("Content-Type", fmt.Sprint(o["content_type"]))
		x.w.Header().Set("Last-Modified", fmt.Sprint(o["last_modified"]))
		x.w.WriteHeader(http.StatusOK)
		if x.r.Method == "GET" {
			_, _ = x.w.Write([]byte(data))
		}
	case "POST":
		for k := range meta {
			delete(meta, k)
		}
		metaHeaders(x, "Object", meta)
		x.empty(http.StatusAccepted)
	case "DELETE":
		x.st.delete(col, name)
		x.empty(http.StatusNoContent)
	case "COPY":
		dst := strings.TrimPrefix(x.r.Header.Get("Destination"), "/")
		dc, dn, ok := strings.Cut(dst, "/")
		if !ok || x.st.get("containers", dc) == nil {
			swiftFail(x, http.StatusNotFound)
			return
		}
		cp := clone(o)
		cp["id"], cp["name"] = dn, dn
		cm, _ := cp["meta"].(map[string]any)
		if x.r.Header.Get("X-Fresh-Metadata") == "true" || x.r.Header.Get("X-Fresh-Metadata") == "True" {
			cm = map[string]any{}
			cp["meta"] = cm
		}
		metaHeaders(x, "Object", cm)
		x.st.put("objects:"+dc, cp, c.newID)
		x.empty(http.StatusCreated)
	default:
		swiftFail(x, http.StatusMethodNotAllowed)
	}
}
