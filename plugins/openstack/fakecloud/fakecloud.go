// Package fakecloud is a small OpenStack cloud in memory, served over
// HTTP for tests: Keystone v3 (password, token and application credential
// authentication, a service catalog of two regions, the identity admin
// API) and the compute, image, network, block storage, orchestration and
// object storage endpoints the plugin's tests call. Its answers follow the
// OpenStack API reference (the same members, status codes and error
// bodies), so the plugin is tested against what a cloud says, not against
// what the plugin expects. It keeps every request so tests can check what
// was sent.
package fakecloud

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Credentials of the cloud's one user.
const (
	Username      = "demo"
	Password      = "secret"
	ProjectName   = "demo"
	ProjectID     = "0c8d1ad8d5c44c4e8ab2d1f0b6f9a3e7"
	UserID        = "6f4f1c8a2b9e4d0f9c3a7e5b1d2c4e6a"
	DomainName    = "Default"
	DomainID      = "default"
	AppCredID     = "ac-1"
	AppCredSecret = "ac-secret"
)

// The cloud's regions. Every service has an endpoint in each; RegionTwo's
// live under /r2 and keep their own resources.
const (
	RegionOne = "RegionOne"
	RegionTwo = "RegionTwo"
)

// Request is one request the cloud received.
type Request struct {
	Region  string
	Service string // compute, image, network, volume, identity, orchestration, object-store
	Method  string
	// Path is below the service's prefix (/compute, /image, ...), with
	// the version and project parts, without the query.
	Path string
	// API is Path below the service's API root (for compute below
	// v2.1/{project_id}), "" for a request outside it (version documents).
	API    string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// JSON decodes the request's body.
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Cloud is a running fake cloud.
type Cloud struct {
	// URL is the server's root (http://127.0.0.1:PORT).
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	requests []Request
	tokens   map[string]bool
	authN    int
	regions  map[string]*store
	seq      int
}

// Start serves a new cloud on a free loopback port, with a few images,
// flavors and networks already there (see seed).
func Start() *Cloud {
	c := &Cloud{tokens: map[string]bool{}, regions: map[string]*store{}}
	for _, r := range []string{RegionOne, RegionTwo} {
		c.regions[r] = newStore()
	}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	c.URL = c.srv.URL
	c.seed()
	return c
}

// Close stops the server.
func (c *Cloud) Close() { c.srv.Close() }

// AuthURL is Keystone's versioned URL, as OS_AUTH_URL gives it.
func (c *Cloud) AuthURL() string { return c.URL + "/identity/v3" }

// Env is an openrc of the cloud's user: the OS_* variables that point an
// executor host at it.
func (c *Cloud) Env() map[string]string {
	return map[string]string{
		"OS_AUTH_URL":             c.AuthURL(),
		"OS_USERNAME":             Username,
		"OS_PASSWORD":             Password,
		"OS_PROJECT_NAME":         ProjectName,
		"OS_USER_DOMAIN_NAME":     DomainName,
		"OS_PROJECT_DOMAIN_NAME":  DomainName,
		"OS_IDENTITY_API_VERSION": "3",
	}
}

// CloudsYAML is a clouds.yaml naming the cloud name.
func (c *Cloud) CloudsYAML(name string) string {
	return fmt.Sprintf(`clouds:
  %s:
    auth:
      auth_url: %s
      username: %s
      password: %s
      project_name: %s
      user_domain_name: %s
      project_domain_name: %s
    region_name: %s
`, name, c.AuthURL(), Username, Password, ProjectName, DomainName, DomainName, RegionTwo)
}

// Requests returns the requests received so far.
func (c *Cloud) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Request(nil), c.requests...)
}

// APIRequests returns the requests received so far below the services'
// API roots (not the version documents, not authentication).
func (c *Cloud) APIRequests() []Request {
	var out []Request
	for _, r := range c.Requests() {
		if r.API != "" && !(r.Service == "identity" && r.API == "auth/tokens") {
			out = append(out, r)
		}
	}
	return out
}

// apiRoots are the version and project parts of each service's paths.
var apiRoots = map[string]string{
	"compute": "v2.1/" + ProjectID + "/", "volume": "v3/" + ProjectID + "/", "orchestration": "v1/" + ProjectID + "/",
	"image": "v2/", "network": "v2.0/", "identity": "v3/", "object-store": "v1/AUTH_" + ProjectID,
}

func apiPath(service, rel string) string {
	root := apiRoots[service]
	if service == "object-store" {
		if rest, ok := strings.CutPrefix(rel, root); ok {
			return "/" + strings.TrimPrefix(rest, "/") // the account itself is "/"
		}
		return ""
	}
	rest, _ := strings.CutPrefix(rel, root)
	if rest == rel {
		return ""
	}
	return rest
}

// Authentications counts the tokens issued.
func (c *Cloud) Authentications() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.authN
}

// ExpireTokens makes every token issued so far invalid, as their expiry
// would.
func (c *Cloud) ExpireTokens() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens = map[string]bool{}
}

// Put stores a resource of collection (servers, images, networks, ...) in
// region, as if created there, and returns it with its ID.
func (c *Cloud) Put(region, collection string, obj map[string]any) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regions[region].put(collection, obj, c.newID)
}

// Get returns a stored resource, or nil.
func (c *Cloud) Get(region, collection, id string) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return clone(c.regions[region].get(collection, id))
}

// List returns the stored resources of a collection in creation order.
func (c *Cloud) List(region, collection string) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, o := range c.regions[region].list(collection) {
		out = append(out, clone(o))
	}
	return out
}

// newID makes a stable, readable ID (tests are easier to read and to
// debug); the mutex is held.
func (c *Cloud) newID(collection string) string {
	c.seq++
	return fmt.Sprintf("%s-%04d", strings.TrimSuffix(strings.ReplaceAll(collection, "_", "-"), "s"), c.seq)
}

// ---- the HTTP side ----

// service is one service's prefix and handler.
type service struct {
	name   string // catalog type
	prefix string // below the region's root, e.g. /compute/v2.1/{project}
	handle func(c *Cloud, x *exchange)
}

func (c *Cloud) services() []service {
	return []service{
		{"identity", "/identity", handleIdentity},
		{"compute", "/compute", handleCompute},
		{"image", "/image", handleImage},
		{"network", "/networking", handleNetwork},
		{"volume", "/volume", handleVolume},
		{"orchestration", "/heat-api", handleOrchestration},
		{"object-store", "/swift", handleObjectStore},
	}
}

// exchange is one request being answered.
type exchange struct {
	w      http.ResponseWriter
	r      *http.Request
	region string
	st     *store
	// path is below the service's versioned root, split on "/".
	path []string
	body map[string]any
	raw  []byte
	svc  string
}

func (c *Cloud) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	p := r.URL.Path
	region := RegionOne
	if rest, ok := strings.CutPrefix(p, "/r2"); ok {
		region, p = RegionTwo, rest
	}
	for _, s := range c.services() {
		rest, ok := strings.CutPrefix(p, s.prefix)
		if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
			continue
		}
		x := &exchange{w: w, r: r, region: region, raw: raw, svc: s.name}
		if len(bytes.TrimSpace(raw)) > 0 {
			_ = json.Unmarshal(raw, &x.body)
		}
		rel := strings.Trim(rest, "/")
		x.path = splitPath(rel)
		// One request at a time: the handlers read and change the
		// stores, the tokens and the log.
		c.mu.Lock()
		defer c.mu.Unlock()
		x.st = c.regions[region]
		c.requests = append(c.requests, Request{Region: region, Service: s.name, Method: r.Method, Path: rel, API: apiPath(s.name, rel),
			Query: r.URL.Query(), Header: r.Header.Clone(), Body: raw})
		s.handle(c, x)
		return
	}
	http.NotFound(w, r)
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if u, err := url.PathUnescape(s); err == nil {
			parts[i] = u
		}
	}
	return parts
}

// authorized checks the request's token as every service does; the
// mutex is held.
func (c *Cloud) authorized(x *exchange) bool {
	ok := c.tokens[x.r.Header.Get("X-Auth-Token")]
	if !ok {
		x.json(http.StatusUnauthorized, map[string]any{"error": map[string]any{
			"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication.",
		}})
	}
	return ok
}

// trim drops the version and project parts of the path ("v2.1",
// project_id) and says whether they were there.
func (x *exchange) trim(version string, project bool) bool {
	if len(x.path) == 0 || x.path[0] != version {
		return false
	}
	x.path = x.path[1:]
	if project {
		if len(x.path) == 0 || x.path[0] != ProjectID {
			return false
		}
		x.path = x.path[1:]
	}
	return true
}

// match says whether the path is pattern ("servers/*/action"), and
// returns the parts "*" matched.
func (x *exchange) match(method, pattern string) ([]string, bool) {
	if x.r.Method != method {
		return nil, false
	}
	pat := splitPath(pattern)
	if len(pat) != len(x.path) {
		return nil, false
	}
	var vars []string
	for i, s := range pat {
		switch {
		case s == "*":
			vars = append(vars, x.path[i])
		case s != x.path[i]:
			return nil, false
		}
	}
	return vars, true
}

func (x *exchange) json(status int, v any) {
	x.w.Header().Set("Content-Type", "application/json")
	x.w.Header().Set("X-Openstack-Request-Id", "req-fake")
	x.w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(x.w).Encode(v)
	}
}

func (x *exchange) empty(status int) { x.w.WriteHeader(status) }

func (x *exchange) text(status int, s string) {
	x.w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	x.w.WriteHeader(status)
	_, _ = io.WriteString(x.w, s)
}

// action is the name of a POST .../action request ({"os-start": null}):
// its body's one member. A malformed body gets nova's 400.
func (x *exchange) action() (string, bool) {
	if len(x.body) != 1 {
		x.fail(novaErrors, http.StatusBadRequest, "Malformed request body")
		return "", false
	}
	return sortedKeys(x.body)[0], true
}

// member returns body[key] as an object.
func (x *exchange) member(key string) map[string]any {
	m, _ := x.body[key].(map[string]any)
	return m
}

var jsonUnmarshal = json.Unmarshal

func clone(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// sortedKeys are m's keys in order, so answers and requests do not depend
// on map order.
func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
