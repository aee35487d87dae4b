package expr

import (
	"bytes"
	"encoding/json"
	"flag"
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
// testdata/*_mismatches.txt list the expressions we do not match yet, one
// JSON string per line; the test fails when another one appears (a regression) and
// when a listed one starts matching (so the list only shrinks). Run with
// -update-mismatches to rewrite the lists after a fix.

var updateMismatches = flag.Bool("update-mismatches", false, "rewrite testdata/*_mismatches.txt")

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
	known := readMismatches(t, name)
	var mism []string
	seen := map[string]bool{}
	for _, c := range cases {
		got, err := eval(c)
		ok, why := match(t, c, got, err)
		if ok {
			if known[c.Expr] && !*updateMismatches {
				t.Errorf("%s: %q now matches; remove it from testdata/%s_mismatches.txt (-update-mismatches)", name, c.Expr, name)
			}
			continue
		}
		if !seen[c.Expr] {
			seen[c.Expr] = true
			mism = append(mism, c.Expr)
		}
		if !known[c.Expr] && !*updateMismatches {
			t.Errorf("%s: %q: %s", name, c.Expr, why)
		}
	}
	t.Logf("%s corpus: %d cases, %d match the reference (%.2f%%), %d listed mismatches",
		name, len(cases), len(cases)-len(mism), 100*float64(len(cases)-len(mism))/float64(len(cases)), len(mism))
	if *updateMismatches {
		sort.Strings(mism)
		var b bytes.Buffer
		for _, m := range mism {
			q, _ := json.Marshal(m)
			b.Write(q)
			b.WriteByte('\n')
		}
		if err := os.WriteFile("testdata/"+name+"_mismatches.txt", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readMismatches(t *testing.T, name string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	b, err := os.ReadFile("testdata/" + name + "_mismatches.txt")
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" {
			continue
		}
		var e string
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("testdata/%s_mismatches.txt: %v", name, err)
		}
		out[e] = true
	}
	return out
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
		return yaql.EvalString(c.Expr, MistralEnv(decodeValue(t, doc.Context), nil).yaqlEnv())
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
