package expr

import (
	"encoding/json"
	"errors"
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

// readCorpus reads a corpus file: its context and its cases.
func readCorpus(t *testing.T, file string) (ctx any, cases []corpusCase) {
	t.Helper()
	b, err := os.ReadFile(file)
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
	return decodeValue(t, doc.Context), doc.Cases
}

// evalYAQLCase evaluates a case of the YAQL corpus: text around <% %> as
// Mistral's InlineYAQLEvaluator, a bare expression as yaql.
func evalYAQLCase(env *Env, c corpusCase) (any, error) {
	if strings.Contains(c.Expr, "<%") {
		return Eval(c.Expr, env)
	}
	return yaql.EvalString(c.Expr, env.yaqlEnv())
}

func TestYAQLCorpus(t *testing.T) {
	ctx, cases := readCorpus(t, "testdata/yaql_corpus.json")
	if len(cases) < 1500 {
		t.Fatalf("the YAQL corpus has %d cases, fewer than 1500", len(cases))
	}
	runCorpus(t, "yaql", cases, func(c corpusCase) (any, error) {
		return evalYAQLCase(MistralEnv(ctx, nil), c)
	})
}

func TestJinjaCorpus(t *testing.T) {
	ctx, cases := readCorpus(t, "testdata/jinja_corpus.json")
	if len(cases) < 300 {
		t.Fatalf("the Jinja corpus has %d cases, fewer than 300", len(cases))
	}
	runCorpus(t, "jinja", cases, func(c corpusCase) (any, error) {
		return Eval(c.Expr, MistralEnv(ctx, nil))
	})
}

// TestCorpusPythonErrors checks the Python exceptions we name for failed
// expressions (PythonError), which Mistral quotes to the workflow's user,
// against the reference's: where we name one it must be the reference's,
// word for word. The floors keep what is covered from shrinking.
func TestCorpusPythonErrors(t *testing.T) {
	for _, c := range []struct {
		file  string
		floor int
		eval  func(ctx any, c corpusCase) error
	}{
		{"testdata/yaql_corpus.json", 1463, func(ctx any, c corpusCase) error {
			env := MistralEnv(ctx, nil)
			// The reference evaluates text around <% %> as Mistral does,
			// and so fails with Mistral's message, which prints the
			// context: a view of that one dict.
			env.View = ContextView{Layer(ctx.(map[string]any))}
			_, err := evalYAQLCase(env, c)
			return err
		}},
		{"testdata/jinja_corpus.json", 195, func(ctx any, c corpusCase) error {
			_, err := Eval(c.Expr, MistralEnv(ctx, nil))
			return err
		}},
	} {
		ctx, cases := readCorpus(t, c.file)
		failing, named := 0, 0
		for _, cc := range cases {
			if cc.Error == "" {
				continue
			}
			err := c.eval(ctx, cc)
			if err == nil {
				continue
			}
			var ye *yaql.Error
			if errors.As(err, &ye) && ye.Kind == yaql.SyntaxError {
				continue // refused at upload in Mistral: never evaluated
			}
			failing++
			py := PythonError(err)
			if py == "" {
				continue
			}
			if py != cc.Error {
				t.Errorf("%s: %q: we name %q, the reference raises %q", c.file, cc.Expr, py, cc.Error)
				continue
			}
			named++
		}
		t.Logf("%s: %d failing expressions, %d name the reference's exception", c.file, failing, named)
		if named < c.floor {
			t.Errorf("%s: %d expressions name the reference's exception, fewer than %d", c.file, named, c.floor)
		}
	}
}
