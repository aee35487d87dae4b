package api

import (
	"net/url"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// ListParams are the paging and sorting query parameters every Mistral
// listing accepts. They are checked here, so a typo in a sort key is a 400
// naming the key instead of a database error. (Exported only because huma
// finds the parameters of embedded structs by reflection.)
type ListParams struct {
	Marker   string `query:"marker" doc:"Id of the last item of the previous page."`
	Limit    int    `query:"limit" doc:"Maximum number of items; 0 or absent means all."`
	SortKeys string `query:"sort_keys" doc:"Comma-separated fields to sort by, e.g. 'created_at,name'."`
	SortDirs string `query:"sort_dirs" doc:"Comma-separated 'asc' or 'desc', one per sort key (missing ones are 'asc')."`

	// base is the request's scheme, host and query, kept by Resolve to
	// build the "next" link of a full page.
	base  *url.URL
	query url.Values
}

// Resolve keeps the request URL for the "next" link. huma calls it after
// reading the parameters.
func (p *ListParams) Resolve(ctx huma.Context) []error {
	u := ctx.URL()
	if u.Host == "" {
		u.Host = ctx.Host()
	}
	if u.Scheme == "" {
		u.Scheme = "http"
		if ctx.TLS() != nil {
			u.Scheme = "https"
		}
	}
	p.base = &u
	p.query = u.Query()
	return nil
}

// listOpts validates the parameters against the sortable fields of the
// resource and converts them to the store's paging options.
func (p *ListParams) listOpts(sortable map[string]bool) (store.ListOpts, error) {
	o := store.ListOpts{Marker: p.Marker, Filters: map[string]string{}}
	if p.Limit < 0 {
		return o, badRequest("limit must be a positive number or 0 (no limit), got %d", p.Limit)
	}
	o.Limit = p.Limit
	keys := splitList(p.SortKeys)
	dirs := splitList(p.SortDirs)
	if len(dirs) > len(keys) {
		return o, badRequest("sort_dirs has %d entries but sort_keys only %d: give one direction per key", len(dirs), len(keys))
	}
	for _, k := range keys {
		if !sortable[k] {
			return o, badRequest("cannot sort by %q: sort_keys may name %s", k, strings.Join(sortedKeys(sortable), ", "))
		}
	}
	for _, d := range dirs {
		if d != "asc" && d != "desc" {
			return o, badRequest("sort_dirs entries must be 'asc' or 'desc', got %q", d)
		}
	}
	for len(dirs) < len(keys) {
		dirs = append(dirs, "asc")
	}
	if len(keys) > 0 {
		o.SortKeys, o.SortDirs = keys, dirs
	}
	return o, nil
}

// next builds the URL of the page after the one ending with lastID, the
// way Mistral's "next" link does: same query, new marker.
func (p *ListParams) next(path, lastID string) string {
	if p.base == nil {
		return ""
	}
	u := *p.base
	u.Path = path
	q := url.Values{}
	for k, v := range p.query {
		q[k] = v
	}
	q.Set("marker", lastID)
	u.RawQuery = q.Encode()
	return u.String()
}

// page is one page of a listing in its wire shape: every row converted
// with wire and, when the page is full (more may follow), the URL of the
// next page, whose marker is the id of the page's last row, as Mistral's
// "next" link is. An empty page is an empty list, never null.
func page[R, W any](p *ListParams, o store.ListOpts, path string, rows []R, wire func(R) W, id func(R) string) (items []W, next string) {
	items = make([]W, 0, len(rows))
	for _, r := range rows {
		items = append(items, wire(r))
	}
	if n := len(rows); n > 0 && o.Limit > 0 && n == o.Limit {
		next = p.next(path, id(rows[n-1]))
	}
	return items, next
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func addFilter(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func keySet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
