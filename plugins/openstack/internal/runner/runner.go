// Package runner executes the rows of the OpenStack actions table: it
// authenticates (package cloud), builds the row's REST request from the
// action's input, sends it through a gophercloud service client and cuts
// the row's result out of the answer, in the shape Mistral's action gives
// (the resource's fields, as the python clients' to_dict gives them).
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/cloud"
	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/table"
	"github.com/sirocco-wf/sirocco/sdk"
)

// Error types of failed runs, which workflows may branch on.
const (
	// ErrTypeAPI is an error answer of an OpenStack service.
	ErrTypeAPI = "OpenStackAPIError"
	// ErrTypeAuth is a failed Keystone authentication or missing
	// credentials.
	ErrTypeAuth = "OpenStackAuthError"
	// ErrTypeEndpoint is a service the catalog does not offer.
	ErrTypeEndpoint = "OpenStackEndpointError"
	// ErrTypeNotFound is a find that matched nothing (or several).
	ErrTypeNotFound = "OpenStackNotFound"
	// ErrTypeUnreachable is a service that did not answer.
	ErrTypeUnreachable = "OpenStackUnreachable"
)

// maxPages bounds how many pages a list follows, against a service that
// keeps answering with a next link.
const maxPages = 1000

// Runner runs the actions of one table.
type Runner struct {
	table *table.Table
	pool  *cloud.Pool
}

// New makes a runner.
func New(t *table.Table, pool *cloud.Pool) *Runner {
	return &Runner{table: t, pool: pool}
}

// Run executes the action named name with in, the action's decoded input
// struct (its JSON is what the workflow passed).
func (r *Runner) Run(ctx context.Context, name string, in any) (any, error) {
	a := r.table.Action(name)
	if a == nil {
		return nil, fmt.Errorf("action %s is not in the table", name)
	}
	args, err := argsOf(in)
	if err != nil {
		return nil, err
	}
	region, _ := args["action_region"].(string)
	sel := cloud.Selection{}
	if v, ok := args["auth"]; ok {
		sel.Auth, _ = json.Marshal(v)
	}
	sel.Cloud, _ = args["cloud"].(string)
	for _, k := range table.Reserved {
		delete(args, k)
	}
	svc := r.table.Services[a.Namespace]
	conn, err := r.pool.Conn(ctx, sel)
	if err != nil {
		return nil, r.fail(a, svc, err)
	}
	sc, err := conn.Client(ctx, cloud.Service{Type: svc.Type, Microversion: svc.Microversion}, region)
	if err != nil {
		return nil, r.fail(a, svc, err)
	}
	res, err := r.exec(ctx, &call{sc: sc}, a, args)
	if err != nil {
		return nil, r.fail(a, svc, err)
	}
	return res, nil
}

// argsOf turns the input struct into its JSON members.
func argsOf(in any) (map[string]any, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	v, err := decode(b)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// fail words an error as mistral-extra does ("NovaAction.servers.get
// failed: ...") and gives it a type a workflow can branch on.
func (r *Runner) fail(a *table.Action, svc table.Service, err error) error {
	msg := fmt.Sprintf("%s.%s failed: %s", svc.Class, a.Method, err.Error())
	var (
		se   *sdk.Error
		api  *apiError
		auth *cloud.AuthError
		bad  *cloud.InputError
		ue   *url.Error
	)
	switch {
	case errors.As(err, &bad):
		return &sdk.Error{Type: sdk.ErrTypeInvalidInput, Message: msg, Err: err}
	case errors.As(err, &se):
		return &sdk.Error{Type: se.Type, Message: msg, Data: se.Data, Retryable: se.Retryable, Err: err}
	case errors.As(err, &api):
		return &sdk.Error{Type: ErrTypeAPI, Message: msg, Retryable: api.status >= 500 || api.status == http.StatusTooManyRequests, Err: err}
	case errors.As(err, &auth), errors.Is(err, cloud.ErrNoCredentials):
		return &sdk.Error{Type: ErrTypeAuth, Message: msg, Err: err}
	case errors.Is(err, cloud.ErrNoEndpoint):
		return &sdk.Error{Type: ErrTypeEndpoint, Message: msg, Err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", msg, err)
	case errors.As(err, &ue):
		// The service could not be reached: it may be back later.
		return &sdk.Error{Type: ErrTypeUnreachable, Message: msg, Retryable: true, Err: err}
	}
	return &sdk.Error{Type: ErrTypeAPI, Message: msg, Err: err}
}

func inputError(format string, a ...any) error {
	return sdk.NewError(sdk.ErrTypeInvalidInput, fmt.Sprintf(format, a...), nil)
}

// call is one run's connection to its service.
type call struct {
	sc *gophercloud.ServiceClient
}

// exec runs a row: a find, a handler, or the row's request.
func (r *Runner) exec(ctx context.Context, c *call, a *table.Action, args map[string]any) (any, error) {
	if err := applyDefaults(a, args); err != nil {
		return nil, err
	}
	switch {
	case a.Find != nil:
		return r.find(ctx, c, a, args)
	case a.Handler != "":
		h, ok := handlers[a.Handler]
		if !ok {
			return nil, fmt.Errorf("action %s: no handler %q", a.Name, a.Handler)
		}
		return h(ctx, c, a, args)
	}
	req, err := build(c.sc, a, args)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	if a.Pages != "" && allPages(a, args) {
		if err := c.followPages(ctx, a, resp); err != nil {
			return nil, err
		}
		if m, ok := resp.json.(map[string]any); ok && len(a.Shape.Path) == 0 {
			// The whole list, without the page links (neutronclient's
			// {"networks": [...]}).
			resp.json = map[string]any{a.Pages: m[a.Pages]}
		}
	}
	return shape(a, resp)
}

// allPages says whether a list follows its next pages: as neutronclient
// does when retrieve_all is true (a limit is then the page size), else as
// the other clients do when neither limit nor marker is given.
func allPages(a *table.Action, args map[string]any) bool {
	if a.Params.Get("retrieve_all") != nil {
		return truthy(args["retrieve_all"])
	}
	for _, n := range []string{"limit", "marker"} {
		if _, ok := args[n]; ok {
			return false
		}
	}
	return true
}

// applyDefaults gives absent parameters their python default, when it is
// not None, so the request carries what the python client would send.
func applyDefaults(a *table.Action, args map[string]any) error {
	for _, p := range a.Params {
		if _, ok := args[p.Name]; ok || !p.HasDefault() {
			continue
		}
		v, err := decode(p.Default)
		if err != nil {
			return err
		}
		args[p.Name] = v
	}
	return nil
}

// request is a REST request ready to send.
type request struct {
	method  string
	url     string
	headers map[string]string
	body    any // JSON body, nil for none
	raw     []byte
	hasRaw  bool
}

var placeholderRE = regexp.MustCompile(`\{(\??)([a-z0-9_]+)(?::([^}]*))?\}`)

// build makes a row's request from the arguments.
func build(sc *gophercloud.ServiceClient, a *table.Action, args map[string]any) (*request, error) {
	var perr error
	path := placeholderRE.ReplaceAllStringFunc(a.Path, func(m string) string {
		g := placeholderRE.FindStringSubmatch(m)
		p := a.Params.Get(g[2])
		if g[1] == "?" {
			v := args[p.Name]
			if !truthy(v) {
				return ""
			}
			if !strings.Contains(g[3], "*") {
				return g[3]
			}
			id, err := idOf(p.Name, v)
			if err != nil {
				perr = err
				return ""
			}
			return strings.ReplaceAll(g[3], "*", url.PathEscape(id))
		}
		id, err := idOf(p.Name, args[p.Name])
		if err != nil {
			perr = err
			return ""
		}
		if id == "" {
			perr = inputError("parameter %q must not be empty", p.Name)
			return ""
		}
		esc := url.PathEscape(id)
		if p.Conv == "path" {
			esc = strings.ReplaceAll(esc, "%2F", "/")
		}
		return esc
	})
	if perr != nil {
		return nil, perr
	}
	req := &request{method: a.Verb, url: sc.ServiceURL(path), headers: map[string]string{}}
	for k, v := range a.Headers {
		req.headers[k] = v
	}
	query := url.Values{}
	var body map[string]any
	if a.Body != nil || a.Wrap != "" {
		body = templateBody(a)
	}
	for _, p := range a.Params {
		v, ok := args[p.Name]
		// None is "not given", except for a required parameter, which
		// python passes on as it is (live_migrate's host=None).
		if !ok || (v == nil && !p.Required) || p.In == table.InPath || p.In == table.InLocal {
			continue
		}
		v, err := convert(p, v)
		if err != nil {
			return nil, err
		}
		if v == nil && !p.Required && p.In != table.InBody {
			continue
		}
		switch p.In {
		case table.InQuery:
			addQuery(query, p.Key(), v)
		case table.InQueryMap:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, inputError("parameter %q: expected an object, got %s", p.Name, jsonType(v))
			}
			for _, k := range sortedKeys(m) {
				if m[k] != nil {
					addQuery(query, k, m[k])
				}
			}
		case table.InBody, table.InBodyMap:
			if body == nil {
				body = map[string]any{}
			}
			if err := place(body, a, p, v); err != nil {
				return nil, err
			}
		case table.InHeader:
			req.headers[p.Key()] = text(v)
		case table.InHeaderMap:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, inputError("parameter %q: expected an object of header names to values, got %s", p.Name, jsonType(v))
			}
			for k, hv := range m {
				req.headers[k] = text(hv)
			}
		case table.InData:
			req.raw, req.hasRaw = []byte(text(v)), true
		}
	}
	if len(query) > 0 {
		sep := "?"
		if strings.Contains(req.url, "?") {
			sep = "&"
		}
		req.url += sep + query.Encode()
	}
	if body != nil {
		req.body = body
	}
	return req, nil
}

func convert(p *table.Param, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if p.Type == table.TypeRef {
		id, err := idOf(p.Name, v)
		if err != nil {
			return nil, err
		}
		v = id
	}
	if p.Conv == "" {
		return v, nil
	}
	f, ok := conversions[p.Conv]
	if !ok {
		return nil, fmt.Errorf("parameter %s: unknown conversion %q", p.Name, p.Conv)
	}
	return f(p.Name, v)
}

func addQuery(q url.Values, k string, v any) {
	if list, ok := v.([]any); ok {
		for _, e := range list {
			q.Add(k, text(e))
		}
		return
	}
	q.Add(k, text(v))
}

// sortedKeys are m's keys in order, so answers and requests do not depend
// on map order.
func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// templateBody is a fresh copy of the row's fixed body, with its Wrap
// object.
func templateBody(a *table.Action) map[string]any {
	body := map[string]any{}
	if a.Body != nil {
		b, _ := json.Marshal(a.Body)
		v, _ := decode(b)
		if m, ok := v.(map[string]any); ok {
			body = m
		}
	}
	if a.Wrap != "" {
		if _, ok := body[a.Wrap].(map[string]any); !ok {
			body[a.Wrap] = map[string]any{}
		}
	}
	return body
}

// place puts a body parameter at its dotted path: below Wrap, or below
// the root when the path starts with "/"; a body* parameter merges its
// object there.
func place(body map[string]any, a *table.Action, p *table.Param, v any) error {
	key := p.Key()
	var path []string
	if rest, ok := strings.CutPrefix(key, "/"); ok {
		key = rest
	} else if a.Wrap != "" {
		path = append(path, a.Wrap)
	}
	if p.In == table.InBodyMap {
		if key != "" && key != "." {
			path = append(path, strings.Split(key, ".")...)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return inputError("parameter %q: expected an object, got %s", p.Name, jsonType(v))
		}
		dst := descend(body, path)
		for k, e := range m {
			dst[k] = e
		}
		return nil
	}
	parts := strings.Split(key, ".")
	path = append(path, parts[:len(parts)-1]...)
	descend(body, path)[parts[len(parts)-1]] = v
	return nil
}

func descend(m map[string]any, path []string) map[string]any {
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	return m
}

// response is an answer: status, headers and body.
type response struct {
	status  int
	headers http.Header
	body    []byte
	// json is the decoded body when it is JSON, else nil.
	json any
}

// okCodes accepts every success, as the python clients do.
var okCodes = func() []int {
	var c []int
	for i := 200; i < 300; i++ {
		c = append(c, i)
	}
	return c
}()

// send sends req through the service client (which adds the token, the
// microversion and re-authenticates when the token has expired).
func (c *call) send(ctx context.Context, req *request) (*response, error) {
	opts := &gophercloud.RequestOpts{OkCodes: okCodes, MoreHeaders: req.headers, KeepResponseBody: true}
	switch {
	case req.hasRaw:
		opts.RawBody = strings.NewReader(string(req.raw))
	case req.body != nil:
		opts.JSONBody = req.body
	}
	resp, err := c.sc.Request(ctx, req.method, req.url, opts)
	if err != nil {
		var ue gophercloud.ErrUnexpectedResponseCode
		if errors.As(err, &ue) {
			return nil, newAPIError(ue.Actual, ue.ResponseHeader, ue.Body)
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s %s: %w", req.method, req.url, err)
	}
	out := &response{status: resp.StatusCode, headers: resp.Header, body: b}
	if len(strings.TrimSpace(string(b))) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if v, err := decode(b); err == nil {
			out.json = v
		}
	}
	return out, nil
}

// followPages joins the next pages of a list into resp, as the python
// clients do when no limit is given.
func (c *call) followPages(ctx context.Context, a *table.Action, resp *response) error {
	first, ok := resp.json.(map[string]any)
	if !ok {
		return nil
	}
	for range maxPages {
		next := nextLink(first, a.Pages, resp)
		if next == "" {
			return nil
		}
		u, err := c.resolve(next)
		if err != nil {
			return err
		}
		page, err := c.send(ctx, &request{method: "GET", url: u})
		if err != nil {
			return err
		}
		pm, ok := page.json.(map[string]any)
		if !ok {
			return nil
		}
		items, _ := pm[a.Pages].([]any)
		if len(items) == 0 {
			return nil
		}
		have, _ := first[a.Pages].([]any)
		first[a.Pages] = append(have, items...)
		resp = page
	}
	return fmt.Errorf("more than %d pages of %s", maxPages, a.Pages)
}

// nextLink finds the next page's link where OpenStack services put it:
// "<list>_links" (nova, neutron, cinder), "next" (glance), "links.next"
// (keystone). It reads the last page's body.
func nextLink(_ map[string]any, list string, last *response) string {
	body, _ := last.json.(map[string]any)
	if links, ok := body[list+"_links"].([]any); ok {
		for _, l := range links {
			if m, ok := l.(map[string]any); ok && m["rel"] == "next" {
				s, _ := m["href"].(string)
				return s
			}
		}
	}
	if s, ok := body["next"].(string); ok {
		return s
	}
	if links, ok := body["links"].(map[string]any); ok {
		s, _ := links["next"].(string)
		return s
	}
	return ""
}

// resolve makes an absolute URL of a link: glance's next is a path from
// the service's root.
func (c *call) resolve(link string) (string, error) {
	base, err := url.Parse(c.sc.Endpoint)
	if err != nil {
		return "", err
	}
	u, err := base.Parse(link)
	if err != nil {
		return "", fmt.Errorf("next link %q: %w", link, err)
	}
	if strings.HasPrefix(link, "/") && base.Path != "" && base.Path != "/" {
		// A path from the root of a service mounted below a prefix
		// (http://host/image/ + /v2/images): keep the prefix.
		prefix := strings.TrimSuffix(base.Path, "/")
		if i := strings.Index(prefix, "/v"); i >= 0 {
			prefix = prefix[:i]
		}
		if !strings.HasPrefix(u.Path, prefix+"/") {
			u.Path = prefix + u.Path
		}
	}
	return u.String(), nil
}

// shape cuts a row's result out of an answer.
func shape(a *table.Action, resp *response) (any, error) {
	s := a.Shape
	switch s.Special {
	case "headers":
		return headerDict(resp.headers), nil
	case "headers+json":
		var body any = []any{}
		if resp.json != nil {
			body = resp.json
		}
		return []any{headerDict(resp.headers), body}, nil
	case "headers+text":
		return []any{headerDict(resp.headers), string(resp.body)}, nil
	}
	if h, ok := strings.CutPrefix(s.Special, "header:"); ok {
		if v := resp.headers.Get(h); v != "" {
			return strings.Trim(v, `"`), nil
		}
		return nil, nil
	}
	if s.Kind == table.ResultNone {
		return nil, nil
	}
	var v any = resp.json
	if v == nil && len(resp.body) > 0 {
		v = string(resp.body)
	}
	for _, k := range s.Path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("the answer has no %q member where the result should be: %s", strings.Join(s.Path, "."), clip(resp.body))
		}
		v = m[k]
	}
	omit(v, a)
	if s.Kind == table.ResultList && v == nil {
		return []any{}, nil
	}
	return v, nil
}

// omit removes the members the python clients drop (glance's "self").
func omit(v any, a *table.Action) {
	if a.Namespace != "glance" {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		delete(x, "self")
	case []any:
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				delete(m, "self")
			}
		}
	}
}

// headerDict is swiftclient's resp_header_dict: lower-case names.
func headerDict(h http.Header) map[string]any {
	out := map[string]any{}
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}

func clip(b []byte) string {
	const max = 300
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
