package yaql

import (
	"encoding/json"
	"os"
	"testing"
)

// testdata/mistral_exprs.json holds every distinct YAQL expression found in
// OpenStack Mistral's repositories (mistral, mistral-extra, tempest plugin).
// testdata/mistral_syntax.json records, for each, whether the reference
// yaql parses it; our parser must agree on every one.

type syntaxCase struct {
	Expr  string `json:"expr"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func TestMistralCorpusSyntax(t *testing.T) {
	if *update {
		if !oracleAvailable() {
			t.Fatal("-update needs python3-yaql")
		}
		writeSyntaxTable(t)
	}
	b, err := os.ReadFile("testdata/mistral_syntax.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []syntaxCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	checkSyntax(t, cases)
}

// TestMistralCorpusSyntaxLive asks the reference about every expression
// now, so that a stale mistral_syntax.json cannot hide a difference.
func TestMistralCorpusSyntaxLive(t *testing.T) {
	if !oracleAvailable() {
		t.Skip("python3-yaql not installed")
	}
	checkSyntax(t, oracleSyntax(t))
}

func checkSyntax(t *testing.T, cases []syntaxCase) {
	t.Helper()
	bad := 0
	for _, c := range cases {
		_, err := Parse(c.Expr)
		if c.OK && err != nil {
			t.Errorf("yaql parses %q, we do not: %v", c.Expr, err)
		}
		if !c.OK && err == nil {
			t.Errorf("yaql rejects %q (%s), we parse it", c.Expr, c.Error)
		}
		if !c.OK {
			bad++
		}
	}
	t.Logf("%d Mistral expressions, %d of them syntax errors in yaql too", len(cases), bad)
}

func writeSyntaxTable(t *testing.T) {
	j, err := json.MarshalIndent(oracleSyntax(t), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/mistral_syntax.json", append(j, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// oracleSyntax asks the reference which corpus expressions are syntax errors.
func oracleSyntax(t *testing.T) []syntaxCase {
	t.Helper()
	b, err := os.ReadFile("testdata/mistral_exprs.json")
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	if err := json.Unmarshal(b, &exprs); err != nil {
		t.Fatal(err)
	}
	in := make([]oracleCase, len(exprs))
	for i, e := range exprs {
		in[i] = oracleCase{Expr: e}
	}
	res := runOracle(t, in)
	out := make([]syntaxCase, len(res))
	for i, r := range res {
		out[i] = syntaxCase{Expr: r.Expr, OK: !isOracleSyntaxError(r.Error)}
		if !out[i].OK {
			out[i].Error = r.Error
		}
	}
	return out
}
