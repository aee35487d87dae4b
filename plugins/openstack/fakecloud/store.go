package fakecloud

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// store holds one region's resources by collection, in creation order.
type store struct {
	cols map[string]*coll
}

type coll struct {
	order []string
	items map[string]map[string]any
}

func newStore() *store { return &store{cols: map[string]*coll{}} }

func (s *store) coll(name string) *coll {
	c := s.cols[name]
	if c == nil {
		c = &coll{items: map[string]map[string]any{}}
		s.cols[name] = c
	}
	return c
}

// idKey is the member that identifies a resource of a collection.
func idKey(collection string) string {
	switch collection {
	case "keypairs", "containers":
		return "name"
	case "namespaces":
		return "namespace"
	}
	return "id"
}

// put stores a copy of obj (giving it an ID when it has none) and returns
// the stored object.
func (s *store) put(collection string, obj map[string]any, newID func(string) string) map[string]any {
	obj = clone(obj)
	if obj == nil {
		obj = map[string]any{}
	}
	k := idKey(collection)
	id, _ := obj[k].(string)
	if id == "" {
		id = newID(collection)
		obj[k] = id
	}
	c := s.coll(collection)
	if _, ok := c.items[id]; !ok {
		c.order = append(c.order, id)
	}
	c.items[id] = obj
	return obj
}

func (s *store) get(collection, id string) map[string]any {
	return s.coll(collection).items[id]
}

func (s *store) list(collection string) []map[string]any {
	c := s.coll(collection)
	out := make([]map[string]any, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, c.items[id])
	}
	return out
}

func (s *store) delete(collection, id string) bool {
	c := s.coll(collection)
	if _, ok := c.items[id]; !ok {
		return false
	}
	delete(c.items, id)
	for i, o := range c.order {
		if o == id {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	return true
}

// Error answers in each service's style (as its API reference shows).
type errStyle int

const (
	novaErrors     errStyle = iota // {"itemNotFound": {"message", "code"}} (nova, cinder)
	neutronErrors                  // {"NeutronError": {"type", "message", "detail"}}
	keystoneErrors                 // {"error": {"code", "message", "title"}}
	glanceErrors                   // text: "404 Not Found\n\n<message>"
	heatErrors                     // {"code", "title", "explanation", "error": {"message", "type"}}
)

// Next-page link styles.
type pageStyle int

const (
	linksPages    pageStyle = iota // "<plural>_links": [{"rel": "next", "href"}]
	glancePages                    // "next": "/v2/images?marker=..."
	keystonePages                  // "links": {"next": url}
)

func (x *exchange) fail(style errStyle, status int, message string) {
	title := http.StatusText(status)
	switch style {
	case neutronErrors:
		typ := "HTTPNotFound"
		if status == http.StatusBadRequest {
			typ = "HTTPBadRequest"
		}
		x.json(status, map[string]any{"NeutronError": map[string]any{"type": typ, "message": message, "detail": ""}})
	case keystoneErrors:
		x.json(status, map[string]any{"error": map[string]any{"code": status, "message": message, "title": title}})
	case glanceErrors:
		x.text(status, fmt.Sprintf("%d %s\n\n%s\n\n   ", status, title, message))
	case heatErrors:
		x.json(status, map[string]any{"code": status, "title": title, "explanation": message,
			"error": map[string]any{"message": message, "type": "EntityNotFound", "traceback": nil}})
	default:
		key := map[int]string{400: "badRequest", 404: "itemNotFound", 409: "conflictingRequest"}[status]
		if key == "" {
			key = "computeFault"
		}
		x.json(status, map[string]any{key: map[string]any{"message": message, "code": status}})
	}
}

// resource describes one collection for crud.
type resource struct {
	col string // store collection
	// path is the collection's URL below the service root.
	path             string
	singular, plural string // wrap keys; singular "" for unwrapped bodies
	detail           bool   // also answer GET path/detail
	errs             errStyle
	pages            pageStyle
	createStatus     int
	deleteStatus     int
	updateMethod     string // PUT (default) or PATCH
	// nameRegexp makes the name filter a regular expression (nova).
	nameRegexp bool
	// missing is the message of a 404, with %s for the ID; by default
	// "<resource> <id> could not be found."
	missing string
	// create fills what the service sets on a new resource.
	create func(obj map[string]any)
	// view is what a list or show answers of a stored resource (nova's
	// list without detail shows id, name and links).
	brief func(obj map[string]any) map[string]any
}

// pageSize bounds list answers, as a service's max_limit does, so the
// next-page links get exercised.
const pageSize = 25

// notPaging are the query parameters that are not filters.
var notPaging = map[string]bool{"limit": true, "marker": true, "sort_key": true, "sort_dir": true, "sort": true,
	"fields": true, "page_reverse": true, "all_tenants": true, "is_public": true, "usage": true, "detail": true,
	"with_count": true, "retrieve_all": true}

// crud answers the usual routes of a collection: list (and list/detail),
// create, show, update and delete. It says whether it answered.
func (c *Cloud) crud(x *exchange, res resource) bool {
	base := res.path
	if _, ok := x.match("GET", base); ok {
		c.list(x, res, false)
		return true
	}
	if _, ok := x.match("GET", base+"/detail"); ok && res.detail {
		c.list(x, res, true)
		return true
	}
	if _, ok := x.match("POST", base); ok {
		in := x.body
		if res.singular != "" {
			in = x.member(res.singular)
			if in == nil {
				x.fail(res.errs, http.StatusBadRequest, fmt.Sprintf("Missing %q in the request body.", res.singular))
				return true
			}
		}
		obj := clone(in)
		if obj == nil {
			obj = map[string]any{}
		}
		if res.create != nil {
			res.create(obj)
		}
		obj = x.st.put(res.col, obj, c.newID)
		x.json(or(res.createStatus, http.StatusCreated), wrap(res.singular, obj))
		return true
	}
	vars, ok := x.match("GET", base+"/*")
	if !ok {
		vars, ok = x.match("DELETE", base+"/*")
	}
	if !ok {
		vars, ok = x.match(or(res.updateMethod, "PUT"), base+"/*")
	}
	if !ok {
		return false
	}
	obj := x.st.get(res.col, vars[0])
	if obj == nil {
		msg := fmt.Sprintf("%s %s could not be found.", strings.TrimSuffix(res.col, "s"), vars[0])
		if res.missing != "" {
			msg = fmt.Sprintf(res.missing, vars[0])
		}
		x.fail(res.errs, http.StatusNotFound, msg)
		return true
	}
	switch x.r.Method {
	case "GET":
		x.json(http.StatusOK, wrap(res.singular, obj))
	case "DELETE":
		x.st.delete(res.col, vars[0])
		x.empty(or(res.deleteStatus, http.StatusNoContent))
	default:
		in := x.body
		if res.singular != "" {
			in = x.member(res.singular)
		}
		for k, v := range in {
			obj[k] = v
		}
		x.json(http.StatusOK, wrap(res.singular, obj))
	}
	return true
}

func (c *Cloud) list(x *exchange, res resource, detail bool) {
	q := x.r.URL.Query()
	var items []map[string]any
	for _, o := range x.st.list(res.col) {
		if matches(o, q, res.nameRegexp) {
			items = append(items, o)
		}
	}
	if m := q.Get("marker"); m != "" {
		for i, o := range items {
			if fmt.Sprint(o[idKey(res.col)]) == m {
				items = items[i+1:]
				break
			}
		}
	}
	limit := pageSize
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && l < limit {
		limit = l
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	out := make([]any, len(items))
	for i, o := range items {
		if res.brief != nil && !detail {
			out[i] = res.brief(o)
		} else {
			out[i] = o
		}
	}
	body := map[string]any{res.plural: out}
	next := ""
	if more {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("marker", fmt.Sprint(items[len(items)-1][idKey(res.col)]))
		nq.Set("limit", strconv.Itoa(limit))
		next = x.r.URL.Path + "?" + nq.Encode()
	}
	switch res.pages {
	case glancePages:
		if next != "" {
			// Glance's next is a path from its root (/v2/images?...).
			body["next"] = strings.TrimPrefix(strings.TrimPrefix(next, "/r2"), "/image")
		}
	case keystonePages:
		links := map[string]any{"self": "http://" + x.r.Host + x.r.URL.Path, "previous": nil, "next": nil}
		if next != "" {
			links["next"] = "http://" + x.r.Host + next
		}
		body["links"] = links
	default:
		if next != "" {
			body[res.plural+"_links"] = []any{map[string]any{"rel": "next", "href": "http://" + x.r.Host + next}}
		}
	}
	x.json(http.StatusOK, body)
}

// matches applies a list's filters: every query parameter that names a
// field of the resource must equal it (name as a regular expression for
// nova).
func matches(o map[string]any, q url.Values, nameRegexp bool) bool {
	for k, vs := range q {
		if notPaging[k] {
			continue
		}
		v, ok := o[k]
		if !ok {
			continue
		}
		if k == "name" && nameRegexp {
			re, err := regexp.Compile(vs[0])
			if err != nil || !re.MatchString(fmt.Sprint(v)) {
				return false
			}
			continue
		}
		found := false
		for _, want := range vs {
			if fmt.Sprint(v) == want || (want == "True" && v == true) || (want == "False" && v == false) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func wrap(key string, obj map[string]any) any {
	if key == "" {
		return obj
	}
	return map[string]any{key: obj}
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
