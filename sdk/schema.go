package sdk

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Schema derivation rules, shared by inputs and outputs:
//
//   - A struct becomes an object; a field's name is its json tag name (or
//     the Go name), fields tagged json:"-" and unexported fields are left
//     out, embedded structs are flattened as encoding/json does.
//   - A field is required unless it is a pointer or its json tag says
//     omitempty or omitzero. A `required:"true"` or `required:"false"` tag
//     overrides this.
//   - An optional field also accepts null (its type is [T, "null"], and
//     null joins its enum): Mistral passes None for a parameter left at its
//     default, so workflows write `headers: null` or pass an expression that
//     yields null. The SDK decodes a null parameter as an absent one, so the
//     action sees the field's zero value.
//   - `description:"..."` becomes the property's description.
//   - `default:"..."` becomes the property's default (parsed as JSON, else
//     taken as a string). It documents the default the action applies
//     itself; the SDK does not fill it in.
//   - `enum:"a,b,c"` lists the allowed string values.
//   - Input objects reject unknown properties (additionalProperties false),
//     as Mistral rejects unexpected action parameters.
//   - any, json.RawMessage and interfaces accept any JSON value; []byte is a
//     base64 string; time.Time is a date-time string; time.Duration is an
//     integer of nanoseconds (prefer a number of seconds in inputs).

var (
	rawMessageType    = reflect.TypeOf(json.RawMessage(nil))
	timeType          = reflect.TypeOf(time.Time{})
	durationType      = reflect.TypeOf(time.Duration(0))
	jsonMarshalerType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// field is one JSON property of a struct with the tags that shape it.
type field struct {
	name     string
	index    []int
	typ      reflect.Type
	required bool
	tag      reflect.StructTag
}

// structFields lists the JSON properties of struct type t in declaration
// order, flattening embedded structs.
func structFields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for _, f := range structFields(et) {
					f.index = append([]int{i}, f.index...)
					if ft.Kind() == reflect.Pointer {
						f.required = false
					}
					out = append(out, f)
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		required := ft.Kind() != reflect.Pointer &&
			!strings.Contains(","+opts+",", ",omitempty,") &&
			!strings.Contains(","+opts+",", ",omitzero,")
		switch sf.Tag.Get("required") {
		case "true":
			required = true
		case "false":
			required = false
		}
		out = append(out, field{name: name, index: []int{i}, typ: ft, required: required, tag: sf.Tag})
	}
	return out
}

// schemaOf derives a JSON Schema for t. Unsupported kinds (channels,
// functions) are authoring mistakes and reported as errors.
func schemaOf(t reflect.Type, closedObjects bool) (map[string]any, error) {
	return (&schemaBuilder{closed: closedObjects, seen: map[reflect.Type]bool{}}).build(t)
}

type schemaBuilder struct {
	closed bool
	seen   map[reflect.Type]bool // guards recursive types
}

func (b *schemaBuilder) build(t reflect.Type) (map[string]any, error) {
	if t == nil {
		return map[string]any{}, nil
	}
	switch {
	case t == rawMessageType:
		return map[string]any{}, nil
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}, nil
	case t == durationType:
		return map[string]any{"type": "integer"}, nil
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		if t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType) {
			return map[string]any{}, nil
		}
		if t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
			return map[string]any{"type": "string"}, nil
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return b.build(t.Elem())
	case reflect.Interface:
		return map[string]any{}, nil
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}, nil
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return map[string]any{"type": "string", "contentEncoding": "base64"}, nil
		}
		items, err := b.build(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "items": items}, nil
	case reflect.Map:
		if k := t.Key().Kind(); k != reflect.String && !(k >= reflect.Int && k <= reflect.Uint64) {
			return nil, fmt.Errorf("map key type %s cannot be a JSON object key", t.Key())
		}
		values, err := b.build(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "object", "additionalProperties": values}, nil
	case reflect.Struct:
		return b.object(t)
	}
	return nil, fmt.Errorf("type %s has no JSON representation", t)
}

// nullable widens property schema s to also accept JSON null. A schema
// without a type accepts null already, unless an enum leaves it out.
func nullable(s map[string]any) {
	if t, ok := s["type"].(string); ok {
		s["type"] = []string{t, "null"}
	}
	if e, ok := s["enum"].([]any); ok {
		s["enum"] = append(e, nil)
	}
}

func (b *schemaBuilder) object(t reflect.Type) (map[string]any, error) {
	if b.seen[t] {
		return map[string]any{"type": "object"}, nil // recursion: stop describing
	}
	b.seen[t] = true
	defer delete(b.seen, t)

	props := map[string]any{}
	required := []string{}
	for _, f := range structFields(t) {
		s, err := b.build(f.typ)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.name, err)
		}
		if d := f.tag.Get("description"); d != "" {
			s["description"] = d
		}
		if d, ok := f.tag.Lookup("default"); ok {
			var v any
			if json.Unmarshal([]byte(d), &v) != nil {
				v = d
			}
			s["default"] = v
		}
		if e := f.tag.Get("enum"); e != "" {
			var values []any
			for _, v := range strings.Split(e, ",") {
				values = append(values, v)
			}
			s["enum"] = values
		}
		if f.required {
			required = append(required, f.name)
		} else {
			nullable(s)
		}
		props[f.name] = s
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if b.closed {
		s["additionalProperties"] = false
	}
	return s, nil
}
