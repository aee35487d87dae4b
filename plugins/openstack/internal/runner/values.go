package runner

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// decode reads JSON keeping numbers exact, so that an ID or a size that
// comes in as a number leaves as the same number.
func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// idOf is python's base.getid: a resource's ID, or the value itself. An
// object (the result of another action) gives its "id".
func idOf(name string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case map[string]any:
		if id, ok := x["id"]; ok {
			return idOf(name, id)
		}
		// A neutron result wraps its resource: {"network": {"id": ...}}.
		if len(x) == 1 {
			for _, inner := range x {
				if m, ok := inner.(map[string]any); ok && m["id"] != nil {
					return idOf(name, m)
				}
			}
		}
		return "", inputError("parameter %q: an object given for a resource must have an \"id\"", name)
	}
	return "", inputError("parameter %q: expected an ID (a string) or an object with an \"id\", got %s", name, jsonType(v))
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// text renders a value as a query string or header value: strings as they
// are, booleans and numbers as JSON, anything else as JSON text.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// truthy is python's bool() of a JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, _ := x.Float64()
		return f != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// equal compares two JSON values as python's == does for the values a
// find compares (numbers by value, so 1 equals 1.0).
func equal(a, b any) bool {
	if na, ok := a.(json.Number); ok {
		if nb, ok := b.(json.Number); ok {
			fa, ea := na.Float64()
			fb, eb := nb.Float64()
			return ea == nil && eb == nil && fa == fb
		}
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// pyRepr writes a value as python prints it, for messages that quote the
// arguments as python clients do ("No Server matching {'id': 'x'}.").
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	case json.Number:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyRepr(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// conversions turn a parameter's value into what the request carries when
// the python client does more than pass it on.
var conversions = map[string]func(name string, v any) (any, error){
	// base64 encodes text (nova's user_data).
	"base64": func(name string, v any) (any, error) {
		s, ok := v.(string)
		if !ok {
			return nil, inputError("parameter %q: expected a string, got %s", name, jsonType(v))
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	},
	// names makes [{"name": n}, ...] of a list of names (security groups).
	"names": eachItem(func(_ string, n any) (any, error) { return map[string]any{"name": n}, nil }),
	// nics is novaclient's nics: "auto", "none", or a list of
	// {"net-id", "v4-fixed-ip", "v6-fixed-ip", "port-id", "tag"} that the
	// API calls networks: [{"uuid", "fixed_ip", "port", "tag"}].
	"nics": func(name string, v any) (any, error) {
		if s, ok := v.(string); ok {
			return s, nil
		}
		list, err := asList(name, v)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(list))
		for i, e := range list {
			nic, ok := e.(map[string]any)
			if !ok {
				return nil, inputError("parameter %q[%d]: expected an object like {\"net-id\": ...}, got %s", name, i, jsonType(e))
			}
			if truthy(nic["v4-fixed-ip"]) && truthy(nic["v6-fixed-ip"]) {
				return nil, inputError("parameter %q[%d]: only one of v4-fixed-ip and v6-fixed-ip may be given", name, i)
			}
			net := map[string]any{}
			for from, to := range map[string]string{"net-id": "uuid", "v4-fixed-ip": "fixed_ip", "v6-fixed-ip": "fixed_ip", "port-id": "port", "tag": "tag"} {
				if truthy(nic[from]) {
					net[to] = nic[from]
				}
			}
			out = append(out, net)
		}
		return out, nil
	},
	// personality is novaclient's files: {path: contents} becomes
	// [{"path", "contents" in base64}], sorted by path.
	"personality": func(name string, v any) (any, error) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, inputError("parameter %q: expected an object of path to contents, got %s", name, jsonType(v))
		}
		paths := make([]string, 0, len(m))
		for p := range m {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		out := make([]any, len(paths))
		for i, p := range paths {
			out[i] = map[string]any{"path": p, "contents": base64.StdEncoding.EncodeToString([]byte(text(m[p])))}
		}
		return out, nil
	},
	// fixed_ips makes [{"ip_address": ip}] of one address (nova's
	// interface_attach).
	"fixed_ips": func(_ string, v any) (any, error) {
		return []any{map[string]any{"ip_address": v}}, nil
	},
	// revision is neutron's revision_number, sent as If-Match.
	"revision": func(_ string, v any) (any, error) {
		return "revision_number=" + text(v), nil
	},
	// id_objects makes [{"id": i}, ...] of a list of IDs (trust roles).
	"id_objects": eachItem(func(_ string, e any) (any, error) { return map[string]any{"id": e}, nil }),
	// auto is novaclient's flavorid: "auto" lets the service choose,
	// which the API says with null.
	"auto": func(_ string, v any) (any, error) {
		if v == "auto" {
			return nil, nil
		}
		return v, nil
	},
	// path keeps the slashes of a path parameter (swift object names,
	// heat's stack_name/stack_id).
	"path": func(_ string, v any) (any, error) { return v, nil },
}

// HasConversion says whether name is a conversion the runner knows, so
// the table's test can check every row's.
func HasConversion(name string) bool { _, ok := conversions[name]; return ok }

// eachItem is a conversion of a list that converts each item with f,
// which gets the item's name (security_groups[2]) for its messages.
func eachItem(f func(name string, e any) (any, error)) func(string, any) (any, error) {
	return func(name string, v any) (any, error) {
		list, err := asList(name, v)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(list))
		for i, e := range list {
			if out[i], err = f(fmt.Sprintf("%s[%d]", name, i), e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

func asList(name string, v any) ([]any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, inputError("parameter %q: expected a list, got %s", name, jsonType(v))
	}
	return list, nil
}
