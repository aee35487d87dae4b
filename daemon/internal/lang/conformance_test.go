package lang

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
)

// oracleEntry is one verdict of Mistral 15's own parser
// (mistral.lang.parser.get_workflow_list_spec_from_yaml and friends) on a
// definition from Mistral's repositories; testdata/mistral/oracle.json was
// produced by running that parser, not by reading the tests.
type oracleEntry struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"` // wf, wb (workbook) or actions
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// knownDifferences are definitions where Sirocco deliberately differs from
// the Mistral 15.0.0 package used as the oracle, with the reason.
var knownDifferences = map[string]string{
	// Debian's Mistral 15.0.0 predates on-skip and publish-on-skip;
	// the conformance sources (and Sirocco) have them.
	"inline:test_task_skip.py:25:workflow":  "on-skip is newer than 15.0.0",
	"inline:test_task_skip.py:155:workflow": "publish-on-skip is newer than 15.0.0",
	"inline:test_task_skip.py:211:workflow": "on-skip is newer than 15.0.0",
}

func loadOracle(t *testing.T) []oracleEntry {
	t.Helper()
	b, err := os.ReadFile("testdata/mistral/oracle.json")
	if err != nil {
		t.Fatal(err)
	}
	var o []oracleEntry
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

type inlineTest struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Name string `json:"name"`
	Text string `json:"text"`
}

func mistralSources(t *testing.T) map[string]string {
	t.Helper()
	src := map[string]string{}
	b, err := os.ReadFile("testdata/mistral/inline-tests.json")
	if err != nil {
		t.Fatal(err)
	}
	var inl []inlineTest
	if err := json.Unmarshal(b, &inl); err != nil {
		t.Fatal(err)
	}
	for _, e := range inl {
		src["inline:"+filepath.Base(e.File)+":"+itoa(e.Line)+":"+e.Name] = e.Text
	}
	err = filepath.Walk("testdata/mistral", func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		b, err := os.ReadFile(p)
		src[filepath.ToSlash(strings.TrimPrefix(p, "testdata/mistral/"))] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// verdict is the real Mistral 15 API's answer to one definition, as
// testdata/record_verdicts.py recorded it from /v2/{workflows,workbooks,
// actions}/validate.
type verdict struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"` // wf, wb or actions: the endpoint used
	Status int    `json:"status"`
	Valid  bool   `json:"valid"`
	Error  string `json:"error"`
}

func loadVerdicts(t *testing.T) []verdict {
	t.Helper()
	b, err := os.ReadFile("testdata/mistral/verdicts.json")
	if err != nil {
		t.Fatal(err)
	}
	var v []verdict
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// parseKind loads a definition with the entry point of its kind and
// checks the JSON round trip of what it returns.
func parseKind(t *testing.T, kind, name, text string) error {
	t.Helper()
	// The engine's expression check, as the API uses it: Mistral rejects
	// definitions whose YAQL or Jinja does not parse.
	opts := Options{Source: name, ValidateExpr: expr.Validate}
	switch kind {
	case "wf":
		doc, err := ParseWorkflows([]byte(text), opts)
		if err == nil {
			checkRoundTrip(t, doc)
		}
		return err
	case "wb":
		wb, err := ParseWorkbook([]byte(text), opts)
		if err == nil {
			checkRoundTripOf(t, wb, &Workbook{})
		}
		return err
	case "actions":
		doc, err := ParseActions([]byte(text), opts)
		if err == nil {
			checkRoundTripOf(t, doc, &ActionDocument{})
		}
		return err
	}
	t.Fatalf("%s: unknown kind %q", name, kind)
	return nil
}

// TestMistralConformance loads every definition from Mistral's
// repositories with the entry point of its kind and checks that Sirocco
// accepts exactly what the real Mistral 15 API accepted.
func TestMistralConformance(t *testing.T) {
	src := mistralSources(t)
	counts := map[string][2]int{}
	for _, v := range loadVerdicts(t) {
		text, ok := src[v.Name]
		if !ok {
			t.Errorf("%s: no source", v.Name)
			continue
		}
		err := parseKind(t, v.Kind, v.Name, text)
		got := err == nil
		want := v.Valid
		if _, known := knownDifferences[v.Name]; known {
			want = !want
		}
		if got != want {
			t.Errorf("%s (%s): Sirocco valid=%v, Mistral valid=%v (%s)\n%v", v.Name, v.Kind, got, v.Valid, firstLine(v.Error), err)
			continue
		}
		c := counts[v.Kind]
		if got {
			c[0]++
		} else {
			c[1]++
		}
		counts[v.Kind] = c
	}
	for _, k := range []string{"wf", "wb", "actions"} {
		t.Logf("%-7s %d accepted and %d rejected, as Mistral does", k, counts[k][0], counts[k][1])
	}
	if len(knownDifferences) > 0 {
		t.Logf("%d known differences", len(knownDifferences))
	}
}

// TestVerdictsMatchOracle reconciles the two recordings of Mistral's
// verdicts: oracle.json (Mistral's parser called in-process) and
// verdicts.json (its HTTP validate endpoints). They must agree on every
// definition's kind and verdict.
func TestVerdictsMatchOracle(t *testing.T) {
	oracle := map[string]oracleEntry{}
	for _, o := range loadOracle(t) {
		oracle[o.Name] = o
	}
	n := 0
	for _, v := range loadVerdicts(t) {
		if strings.HasPrefix(v.Name, "cases/") {
			continue // written for Sirocco, recorded from the API only
		}
		o, ok := oracle[v.Name]
		if !ok {
			t.Errorf("%s: not in oracle.json", v.Name)
			continue
		}
		n++
		if o.Kind != v.Kind || o.OK != v.Valid {
			t.Errorf("%s: in-process parser %s ok=%v (%s), API %s valid=%v (%s)", v.Name, o.Kind, o.OK, o.Error, v.Kind, v.Valid, firstLine(v.Error))
		}
		if v.Status != 200 {
			t.Errorf("%s: Mistral answered HTTP %d", v.Name, v.Status)
		}
	}
	if n != len(oracle) {
		t.Errorf("verdicts.json covers %d of the %d oracle entries", n, len(oracle))
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
