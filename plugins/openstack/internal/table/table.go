// Package table reads the OpenStack plugin's one table of actions
// (actions.yaml): for each Mistral action name, the python client method it
// stands for, the REST request that method sends, its parameters and where
// each one goes, and which part of the answer is the action's result. The
// plugin's Go input types are generated from it (internal/gen) and the
// plugin's runner (internal/runner) executes it, so an action is added by
// adding a row, never by writing code.
package table

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Table is the whole file.
type Table struct {
	// Services maps a Mistral namespace (nova) to how its API is reached.
	Services map[string]Service `yaml:"services"`
	// Actions are the rows, in the file's order.
	Actions []*Action `yaml:"actions"`

	byName map[string]*Action
}

// Service is one OpenStack service as the plugin reaches it.
type Service struct {
	// Type is the service type of the Keystone catalog (compute, image, ...).
	Type string `yaml:"type"`
	// Class is the mistral-extra action class (NovaAction), which Mistral
	// puts at the head of an action's error message.
	Class string `yaml:"class"`
	// Client is the python client module mistral-extra calls, for docs.
	Client string `yaml:"client"`
	// Microversion, when set, is the highest API microversion the plugin
	// asks for; the service's own maximum is used when it is lower (what
	// mistral-extra's "2.latest" discovery does).
	Microversion string `yaml:"microversion"`
}

// Action is one row: one Mistral action.
type Action struct {
	// Name is the Mistral action name, e.g. nova.servers_list.
	Name string `yaml:"name"`
	// Method is the python client method mistral-extra maps the name to
	// (servers.list); it names the action in error messages.
	Method string `yaml:"method"`
	// Doc is the action's description.
	Doc string `yaml:"doc"`
	// HTTP is "VERB path": the path is relative to the service's API root
	// and holds {param} placeholders and optional parts {?p:/text} that
	// are written only when the local parameter p is given and true (a
	// "*" in the text stands for p's value), and may end in a fixed
	// query (?format=json).
	HTTP string `yaml:"http"`
	// Wrap names the object the body parameters go into ({"server": {...}}).
	Wrap string `yaml:"wrap"`
	// Body is a fixed JSON body the parameters are added to, e.g.
	// {"os-start": null} for a server action.
	Body any `yaml:"body"`
	// Headers are fixed request headers.
	Headers map[string]string `yaml:"headers"`
	// Params are the action's parameters in the python method's order.
	Params Params `yaml:"params"`
	// Result says which part of the answer is the result; see ParseResult.
	Result string `yaml:"result"`
	// Pages names the list that continues on further pages (servers): the
	// runner follows the answer's next links and joins the pages, as the
	// python clients do: when retrieve_all is true for a row that has that
	// parameter (neutron), else when neither limit nor marker is given.
	Pages string `yaml:"pages"`
	// Find makes this a find/findall action over a list action.
	Find *Find `yaml:"find"`
	// Handler names Go code for the few methods a request template cannot
	// describe (a read-modify-write, several requests).
	Handler string `yaml:"handler"`

	// Verb and Path are HTTP split.
	Verb, Path string `yaml:"-"`
	// Shape is Result parsed.
	Shape Shape `yaml:"-"`
	// Namespace is the part of Name before the first dot (nova).
	Namespace string `yaml:"-"`
}

// Find describes python's ManagerWithFind.find and findall: list, then keep
// the items whose fields equal every given parameter.
type Find struct {
	// List is the list action to call.
	List string `yaml:"list"`
	// Query are the parameters also passed to the list action, so the
	// service filters first: "name" passes name on as name, and
	// "name>search_opts" puts it in the list's search_opts object (what
	// python does).
	Query []string `yaml:"query"`
	// One makes it find (exactly one match, else an error) rather than
	// findall (a list).
	One bool `yaml:"one"`
	// Unwrap names the member of each listed item that holds the
	// resource's fields (nova lists key pairs as [{"keypair": {...}}]);
	// the filters compare those, the result keeps the item as listed.
	Unwrap string `yaml:"unwrap"`
	// Resource is the python resource class named in "No Server
	// matching ..."; by default the list method's manager in the
	// singular (servers.list: Server).
	Resource string `yaml:"resource"`
}

// ResultKind classifies what an action returns, which also sets its output
// schema.
type ResultKind int

const (
	// ResultNone is an answer without a body: the result is null.
	ResultNone ResultKind = iota
	// ResultObject is a JSON object (a resource's fields).
	ResultObject
	// ResultList is a list of objects.
	ResultList
	// ResultValue is any other JSON value (a string, a number, a tuple).
	ResultValue
)

// Shape is a parsed Result.
type Shape struct {
	Kind ResultKind
	// Path is the dotted path of the result in the answer's JSON body;
	// empty for the whole body.
	Path []string
	// Special is a result not taken from a JSON body (object storage):
	// "headers", "headers+json", "headers+text".
	Special string
}

// ParseResult reads a result expression:
//
//	(empty)       null
//	.             the whole JSON body, an object
//	server        the body's "server" member, an object
//	servers[]     the body's "servers" member, a list of objects
//	=output       the body's "output" member, any value
//	@headers      the answer's headers as an object (swift)
//	@headers+json [headers, body as JSON] (swift)
//	@headers+text [headers, body as text] (swift)
//	@header:etag  the value of one header of the answer (swift)
func ParseResult(s string) (Shape, error) {
	switch {
	case s == "":
		return Shape{Kind: ResultNone}, nil
	case strings.HasPrefix(s, "@header:"):
		return Shape{Kind: ResultValue, Special: s[1:]}, nil
	case strings.HasPrefix(s, "@"):
		switch sp := s[1:]; sp {
		case "headers":
			return Shape{Kind: ResultObject, Special: sp}, nil
		case "headers+json", "headers+text":
			return Shape{Kind: ResultValue, Special: sp}, nil
		}
		return Shape{}, fmt.Errorf("unknown special result %q", s)
	}
	kind := ResultObject
	switch {
	case strings.HasPrefix(s, "="):
		kind, s = ResultValue, s[1:]
	case strings.HasSuffix(s, "[]"):
		kind, s = ResultList, strings.TrimSuffix(s, "[]")
	}
	if s == "." || s == "" {
		return Shape{Kind: kind}, nil
	}
	return Shape{Kind: kind, Path: strings.Split(s, ".")}, nil
}

// Parse reads and checks a table.
func Parse(data []byte) (*Table, error) {
	var t Table
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("actions table: %w", err)
	}
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("actions table: %w", err)
	}
	return &t, nil
}

// Action returns the row named name, or nil.
func (t *Table) Action(name string) *Action { return t.byName[name] }

var (
	nameRE        = regexp.MustCompile(`^[a-z0-9_]+\.[a-z0-9_.]+$`)
	placeholderRE = regexp.MustCompile(`\{(\??)([a-z0-9_]+)(?::([^}]*))?\}`)
	verbs         = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "COPY"}
)

// check validates every row so that a mistake in the table stops the
// plugin's build (the generator) and its start, naming the row.
func (t *Table) check() error {
	t.byName = map[string]*Action{}
	for i, a := range t.Actions {
		if a == nil {
			return fmt.Errorf("actions[%d] is empty", i)
		}
		if err := t.checkAction(a); err != nil {
			return fmt.Errorf("action %s (actions[%d]): %w", a.Name, i, err)
		}
		if t.byName[a.Name] != nil {
			return fmt.Errorf("action %s appears twice", a.Name)
		}
		t.byName[a.Name] = a
	}
	for _, a := range t.Actions {
		if a.Find == nil {
			continue
		}
		list := t.byName[a.Find.List]
		if list == nil || list.Shape.Kind != ResultList {
			return fmt.Errorf("action %s: find.list %q is not a list action of the table", a.Name, a.Find.List)
		}
		if a.Find.Resource == "" {
			a.Find.Resource = resourceName(list.Method)
		}
		for _, q := range a.Find.Query {
			name, into, nested := strings.Cut(q, ">")
			if !nested {
				into = name
			}
			if a.Params.Get(name) == nil || list.Params.Get(into) == nil {
				return fmt.Errorf("action %s: find.query %q must name a parameter of %s and one of %s", a.Name, q, a.Name, list.Name)
			}
		}
	}
	return nil
}

func (t *Table) checkAction(a *Action) error {
	if !nameRE.MatchString(a.Name) {
		return fmt.Errorf("name must be namespace.action in lower case")
	}
	a.Namespace, _, _ = strings.Cut(a.Name, ".")
	if _, ok := t.Services[a.Namespace]; !ok {
		return fmt.Errorf("no service %q in services", a.Namespace)
	}
	if a.Method == "" || a.Doc == "" {
		return fmt.Errorf("method and doc are required")
	}
	shape, err := ParseResult(a.Result)
	if err != nil {
		return err
	}
	a.Shape = shape
	for _, p := range a.Params {
		if slices.Contains(Reserved, p.Name) {
			return fmt.Errorf("parameter %s clashes with a parameter every action has", p.Name)
		}
	}
	if a.Find != nil {
		for _, p := range a.Params {
			if p.In == "" {
				p.In = InFilter
			}
		}
		if a.HTTP != "" || a.Handler != "" {
			return fmt.Errorf("a find action has no http or handler of its own")
		}
		want := ResultList
		if a.Find.One {
			want = ResultObject
		}
		if a.Shape.Kind != want {
			return fmt.Errorf("a find action's result must be %q", map[bool]string{true: "object", false: "list"}[a.Find.One])
		}
		for _, p := range a.Params {
			if p.In != InFilter {
				return fmt.Errorf("parameter %s: the parameters of a find action are filters", p.Name)
			}
		}
		return nil
	}
	verb, path, _ := strings.Cut(a.HTTP, " ")
	if !slices.Contains(verbs, verb) {
		return fmt.Errorf("http must be \"VERB path\", got %q", a.HTTP)
	}
	a.Verb, a.Path = verb, path
	inferPlaces(a)
	if a.Pages != "" && a.Shape.Kind != ResultList && len(a.Shape.Path) != 0 {
		return fmt.Errorf("pages needs a list result or the whole body")
	}
	if a.Body != nil {
		if _, err := json.Marshal(a.Body); err != nil {
			return fmt.Errorf("body is not JSON: %w", err)
		}
	}
	// Every placeholder names a parameter, and every path parameter has a
	// placeholder.
	seen := map[string]bool{}
	for _, m := range placeholderRE.FindAllStringSubmatch(path, -1) {
		p := a.Params.Get(m[2])
		if p == nil {
			return fmt.Errorf("path placeholder {%s} is not a parameter", m[2])
		}
		if m[1] == "?" {
			if p.In != InLocal || p.Required {
				return fmt.Errorf("optional path part {?%s:...} needs an optional local parameter", m[2])
			}
			continue
		}
		if p.In != InPath {
			return fmt.Errorf("path placeholder {%s} must be a path parameter", m[2])
		}
		seen[m[2]] = true
	}
	for _, p := range a.Params {
		if p.In == InPath && !seen[p.Name] {
			return fmt.Errorf("path parameter %s has no placeholder in %q", p.Name, path)
		}
		if p.In == InFilter {
			return fmt.Errorf("parameter %s: filters belong to find actions", p.Name)
		}
		if p.In == InPath && !p.Required && a.Handler == "" {
			return fmt.Errorf("path parameter %s must be required", p.Name)
		}
	}
	return nil
}

// Reserved are the parameters every action takes besides its own: the
// region (as in Mistral) and the credentials.
var Reserved = []string{"action_region", "auth", "cloud"}

// inferPlaces gives each parameter without a place the usual one: the path
// when it has a placeholder, else the query of a GET, HEAD or DELETE, else
// the body.
func inferPlaces(a *Action) {
	for _, p := range a.Params {
		switch {
		case p.In != "":
		case strings.Contains(a.Path, "{"+p.Name+"}"):
			p.In = InPath
		case a.Verb == "GET" || a.Verb == "HEAD" || a.Verb == "DELETE":
			p.In = InQuery
		default:
			p.In = InBody
		}
	}
}

// resourceName guesses python's resource class from a manager method:
// servers.list gives Server, server_groups.list ServerGroup.
func resourceName(method string) string {
	mgr, _, _ := strings.Cut(method, ".")
	mgr = strings.TrimSuffix(mgr, "s")
	var b strings.Builder
	for _, part := range strings.Split(mgr, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
