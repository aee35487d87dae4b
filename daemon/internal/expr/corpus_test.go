package expr

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
)

// The differential corpora: testdata/yaql_corpus.json and
// testdata/jinja_corpus.json hold expressions, their context and the
// reference answer (python3-yaql and python3-jinja2 configured as Mistral
// 15 configures them), written by testdata/gen/*.py. An answer is matched
// when both fail, or both succeed with equal values.
//
// Both corpora must match in full: every case that disagrees with the
// reference fails the test. A case whose reference answer depends on
// Python's hash order (a set of strings) is marked unordered by the
// generator and compared as a multiset.

type corpusCase struct {
	Expr   string          `json:"expr"`
	Source string          `json:"source"`
	Data   json.RawMessage `json:"data,omitempty"`
	Value  json.RawMessage `json:"value,omitempty"`
	Error  string          `json:"error,omitempty"`
	// Unordered marks a Python set: Mistral stores it as a list in hash
	// order, which is not defined, so the items are compared as a multiset.
	Unordered bool `json:"unordered,omitempty"`
}

func decodeValue(t *testing.T, b []byte) any {
	t.Helper()
	v, err := FromJSON(b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// match reports whether our answer (got, err) agrees with the reference.
func match(t *testing.T, c corpusCase, got any, err error) (bool, string) {
	if c.Error != "" {
		if err != nil {
			return true, ""
		}
		return false, fmt.Sprintf("reference fails (%s), we return %s", c.Error, show(got))
	}
	if err != nil {
		return false, fmt.Sprintf("reference returns %s, we fail: %v", c.Value, err)
	}
	want := decodeValue(t, c.Value)
	if c.Unordered {
		got, want = sortedItems(got), sortedItems(want)
	}
	if !reflect.DeepEqual(got, want) {
		return false, fmt.Sprintf("reference returns %s, we return %s", c.Value, show(got))
	}
	return true, ""
}

// sortedItems orders a list by the JSON text of its items.
func sortedItems(v any) any {
	l, ok := v.([]any)
	if !ok {
		return v
	}
	out := append([]any{}, l...)
	sort.Slice(out, func(i, j int) bool { return show(out[i]) < show(out[j]) })
	return out
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

func runCorpus(t *testing.T, name string, cases []corpusCase, eval func(c corpusCase) (any, error)) {
	t.Helper()
	bad := 0
	for _, c := range cases {
		got, err := eval(c)
		if ok, why := match(t, c, got, err); !ok {
			bad++
			t.Errorf("%s: %q: %s", name, c.Expr, why)
		}
	}
	t.Logf("%s corpus: %d cases, %d match the reference (%.2f%%)",
		name, len(cases), len(cases)-bad, 100*float64(len(cases)-bad)/float64(len(cases)))
}

func TestYAQLCorpus(t *testing.T) {
	b, err := os.ReadFile("testdata/yaql_corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Context json.RawMessage `json:"context"`
		Cases   []corpusCase    `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 1500 {
		t.Fatalf("the YAQL corpus has %d cases, fewer than 1500", len(doc.Cases))
	}
	runCorpus(t, "yaql", doc.Cases, func(c corpusCase) (any, error) {
		env := MistralEnv(decodeValue(t, doc.Context), nil)
		if strings.Contains(c.Expr, "<%") {
			// Text around <% %>: Mistral's InlineYAQLEvaluator.
			return Eval(c.Expr, env)
		}
		return yaql.EvalString(c.Expr, env.yaqlEnv())
	})
}

func TestJinjaCorpus(t *testing.T) {
	b, err := os.ReadFile("testdata/jinja_corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Context json.RawMessage `json:"context"`
		Cases   []corpusCase    `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 300 {
		t.Fatalf("the Jinja corpus has %d cases, fewer than 300", len(doc.Cases))
	}
	runCorpus(t, "jinja", doc.Cases, func(c corpusCase) (any, error) {
		return Eval(c.Expr, MistralEnv(decodeValue(t, doc.Context), nil))
	})
}
