package table

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Type is a parameter's JSON type.
type Type string

// The parameter types. TypeRef is python's "the resource or its ID": a
// string ID, or an object whose "id" is taken (a result of another action).
const (
	TypeString  Type = "string"
	TypeInteger Type = "integer"
	TypeNumber  Type = "number"
	TypeBoolean Type = "boolean"
	TypeObject  Type = "object"
	TypeArray   Type = "array"
	TypeAny     Type = "any"
	TypeRef     Type = "ref"
)

var types = []Type{TypeString, TypeInteger, TypeNumber, TypeBoolean, TypeObject, TypeArray, TypeAny, TypeRef}

// Place is where a parameter goes in the request.
type Place string

// The places.
const (
	// InPath fills the {name} placeholder of the path.
	InPath Place = "path"
	// InQuery is one query parameter (a list repeats it).
	InQuery Place = "query"
	// InQueryMap merges an object into the query (search_opts, filters).
	InQueryMap Place = "query*"
	// InBody is a member of the JSON body, at a dotted path below Wrap
	// (or below the root when the path starts with "/").
	InBody Place = "body"
	// InBodyMap merges an object into the body at that path.
	InBodyMap Place = "body*"
	// InHeader is one request header.
	InHeader Place = "header"
	// InHeaderMap merges an object into the request headers.
	InHeaderMap Place = "header*"
	// InData is the raw request body (an object's contents).
	InData Place = "data"
	// InLocal is read by the path template or a handler, never sent.
	InLocal Place = "local"
	// InFilter is a field a find action compares.
	InFilter Place = "filter"
)

var places = []Place{InPath, InQuery, InQueryMap, InBody, InBodyMap, InHeader, InHeaderMap, InData, InLocal, InFilter}

// Param is one parameter of an action.
type Param struct {
	Name string
	Type Type
	// Required parameters have no default, as in the python signature.
	Required bool
	// Default is the python default as JSON ("null" when none); a
	// non-null default is sent when the caller leaves the parameter out.
	Default json.RawMessage
	In      Place
	// As is the name in the request when it differs (a query name, a
	// dotted body path, a header).
	As string
	// Conv names a conversion of the value before it is placed (see
	// runner): base64, names, nics, personality, csv.
	Conv string
	// Doc describes the parameter in the input schema.
	Doc string
}

// Params keeps the parameters in the file's order, which is the python
// signature's order and Mistral's input order.
type Params []*Param

// Get returns the parameter named name, or nil.
func (ps Params) Get(name string) *Param {
	for _, p := range ps {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// UnmarshalYAML reads a mapping of name to parameter spec, in order. A spec
// is `TYPE[=DEFAULT] [PLACE[:AS]] [|CONV] [-- doc]`, for instance
// `ref`, `boolean=true local`, `object=null body:metadata`,
// `string=null body:user_data |base64 -- Text given to cloud-init.`
// A parameter without a default is required.
func (ps *Params) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: params must be a mapping of name to spec", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: parameter %s: the spec must be a string", v.Line, k.Value)
		}
		p, err := parseParam(k.Value, v.Value)
		if err != nil {
			return fmt.Errorf("line %d: parameter %s: %w", v.Line, k.Value, err)
		}
		if ps.Get(p.Name) != nil {
			return fmt.Errorf("line %d: parameter %s twice", v.Line, k.Value)
		}
		*ps = append(*ps, p)
	}
	return nil
}

func parseParam(name, spec string) (*Param, error) {
	p := &Param{Name: name, Default: json.RawMessage("null")}
	spec, p.Doc, _ = strings.Cut(spec, " -- ")
	p.Doc = strings.TrimSpace(p.Doc)
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return nil, fmt.Errorf("empty spec")
	}
	typ, def, hasDefault := strings.Cut(fields[0], "=")
	p.Type = Type(typ)
	if !slices.Contains(types, p.Type) {
		return nil, fmt.Errorf("unknown type %q", typ)
	}
	p.Required = !hasDefault
	if hasDefault {
		if !json.Valid([]byte(def)) {
			return nil, fmt.Errorf("default %q is not JSON", def)
		}
		p.Default = json.RawMessage(def)
	}
	for _, f := range fields[1:] {
		if conv, ok := strings.CutPrefix(f, "|"); ok {
			p.Conv = conv
			continue
		}
		place, as, _ := strings.Cut(f, ":")
		p.In, p.As = Place(place), as
		if !slices.Contains(places, p.In) {
			return nil, fmt.Errorf("unknown place %q", place)
		}
	}
	return p, nil
}

// HasDefault says whether the parameter has a non-null default to send.
func (p *Param) HasDefault() bool { return string(p.Default) != "null" }

// Key is the parameter's name in the request.
func (p *Param) Key() string {
	if p.As != "" {
		return p.As
	}
	return p.Name
}
