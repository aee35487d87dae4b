package lang

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	// Rejected only by the YAQL parser, which lang does not hold
	// (Options.ValidateExpr plugs it in).
	"inline:test_workflows.py:179:WF_DEF_YAQL_PARSE_EXCEPTION": "needs ValidateExpr",
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

// TestMistralConformance loads every workflow document from Mistral's
// repositories and checks that Sirocco accepts exactly what Mistral
// accepts.
func TestMistralConformance(t *testing.T) {
	src := mistralSources(t)
	accepted, rejected := 0, 0
	for _, o := range loadOracle(t) {
		if o.Kind != "wf" {
			continue
		}
		text, ok := src[o.Name]
		if !ok {
			t.Errorf("%s: no source", o.Name)
			continue
		}
		doc, err := ParseWorkflows([]byte(text), Options{Source: o.Name})
		got := err == nil
		want := o.OK
		if _, known := knownDifferences[o.Name]; known {
			want = !want
		}
		if got != want {
			t.Errorf("%s: Sirocco ok=%v, Mistral ok=%v (%s)\n%v", o.Name, got, o.OK, o.Error, err)
			continue
		}
		if got {
			accepted++
			checkRoundTrip(t, doc)
		} else {
			rejected++
		}
	}
	t.Logf("%d accepted and %d rejected, as Mistral does", accepted, rejected)
}
