package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// minDocumentedPaths is the floor of paths /openapi.json documents: the
// Mistral v2 resources Sirocco serves and its own endpoints. It only
// grows; a drop means an endpoint went missing.
const minDocumentedPaths = 25

// TestOpenAPIDocumentsEveryOperation reads the OpenAPI document of a full
// server (every role, so every optional endpoint is there) and checks that
// each operation has a summary and examples of what it takes and gives,
// and that each example fits its own schema: an example that does not is
// worse than none, since people copy them.
func TestOpenAPIDocumentsEveryOperation(t *testing.T) {
	d := start(t, Config{DataDir: t.TempDir()})
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if code, body := call(t, "GET", d.url+"/openapi.json", "", "", &doc); code != http.StatusOK {
		t.Fatalf("openapi.json: %d %s", code, body)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1", doc.OpenAPI)
	}
	if len(doc.Paths) < minDocumentedPaths {
		t.Errorf("openapi.json documents %d paths, want at least %d", len(doc.Paths), minDocumentedPaths)
	}
	v := schemaChecker{schemas: doc.Components.Schemas}
	ops := 0
	for path, methods := range doc.Paths {
		for method, raw := range methods {
			ops++
			var op struct {
				OperationID string `json:"operationId"`
				Summary     string `json:"summary"`
				Parameters  []struct {
					Name, In string
					Example  any `json:"example"`
				} `json:"parameters"`
				RequestBody *struct {
					Content map[string]mediaType `json:"content"`
				} `json:"requestBody"`
				Responses map[string]struct {
					Content map[string]mediaType `json:"content"`
				} `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%s %s (%s)", strings.ToUpper(method), path, op.OperationID)
			if op.Summary == "" {
				t.Errorf("%s has no summary", name)
			}
			examples := 0
			for _, p := range op.Parameters {
				if p.In != "path" {
					continue
				}
				if p.Example == nil {
					t.Errorf("%s: path parameter %s has no example", name, p.Name)
				}
				examples++
			}
			if op.RequestBody != nil {
				for ct, mt := range op.RequestBody.Content {
					examples += v.checkExample(t, name+" request "+ct, mt)
				}
			}
			for code, resp := range op.Responses {
				if !strings.HasPrefix(code, "2") {
					continue
				}
				for ct, mt := range resp.Content {
					examples += v.checkExample(t, name+" answer "+code+" "+ct, mt)
				}
			}
			if examples == 0 {
				t.Errorf("%s has no example at all", name)
			}
		}
	}
	t.Logf("%d paths, %d operations", len(doc.Paths), ops)

	code, body := call(t, "GET", d.url+"/docs", "", "", nil)
	if code != http.StatusOK || !strings.Contains(body, "/openapi") {
		t.Errorf("/docs: %d, does not load the OpenAPI document:\n%.300s", code, body)
	}
}

type mediaType struct {
	Schema  any `json:"schema"`
	Example any `json:"example"`
}

// checkExample fails t when mt has no example or one that does not fit
// mt's schema, and counts it.
func (v schemaChecker) checkExample(t *testing.T, where string, mt mediaType) int {
	t.Helper()
	if mt.Example == nil {
		t.Errorf("%s has no example (add one to daemon/internal/api/examples.go)", where)
		return 0
	}
	if errs := v.check("", mt.Schema, mt.Example); len(errs) > 0 {
		sort.Strings(errs)
		t.Errorf("%s: the example does not fit the schema:\n  %s", where, strings.Join(errs, "\n  "))
	}
	return 1
}

// schemaChecker checks a JSON value against the part of JSON Schema that
// huma writes: $ref, type (one or a list), properties, required,
// additionalProperties, items, enum, oneOf and anyOf. That is enough to
// catch an example with a misspelt member, a missing required one or a
// value of the wrong type.
type schemaChecker struct {
	schemas map[string]any
}

func (v schemaChecker) check(at string, schema, value any) []string {
	s, ok := schema.(map[string]any)
	if !ok {
		return nil // true, or absent: anything goes
	}
	if ref, ok := s["$ref"].(string); ok {
		return v.check(at, v.schemas[strings.TrimPrefix(ref, "#/components/schemas/")], value)
	}
	for _, key := range []string{"oneOf", "anyOf"} {
		if alts, ok := s[key].([]any); ok {
			var all []string
			for _, alt := range alts {
				errs := v.check(at, alt, value)
				if len(errs) == 0 {
					return nil
				}
				all = append(all, errs...)
			}
			return []string{fmt.Sprintf("%s: fits none of %s: %s", orRoot(at), key, strings.Join(all, "; "))}
		}
	}
	if types := typesOf(s["type"]); len(types) > 0 && !types[jsonType(value)] &&
		!(types["number"] && jsonType(value) == "integer") {
		return []string{fmt.Sprintf("%s: %s, want %v", orRoot(at), jsonType(value), s["type"])}
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || fmt.Sprint(e) == fmt.Sprint(value)
		}
		if !found {
			return []string{fmt.Sprintf("%s: %v is not one of %v", orRoot(at), value, enum)}
		}
	}
	var errs []string
	switch val := value.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := val[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: lacks required member %q", orRoot(at), r))
			}
		}
		for k, x := range val {
			if ps, ok := props[k]; ok {
				errs = append(errs, v.check(at+"/"+k, ps, x)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: member %q is not in the schema", orRoot(at), k))
				}
			case map[string]any:
				errs = append(errs, v.check(at+"/"+k, ap, x)...)
			}
		}
	case []any:
		for i, x := range val {
			errs = append(errs, v.check(fmt.Sprintf("%s/%d", at, i), s["items"], x)...)
		}
	}
	return errs
}

func orRoot(at string) string {
	if at == "" {
		return "/"
	}
	return at
}

func typesOf(t any) map[string]bool {
	out := map[string]bool{}
	switch t := t.(type) {
	case string:
		out[t] = true
	case []any:
		for _, x := range t {
			out[fmt.Sprint(x)] = true
		}
	}
	return out
}

func asList(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
