package yaql

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// The reference is the real yaql (python3-yaql) configured as Mistral
// configures it: testdata/yaql_oracle.py. testdata/oracle.json holds its
// answers for testdata/corpus.json so that the table test runs anywhere;
// `go test -run TestOracleTable -update` regenerates it from the live oracle.

var update = flag.Bool("update", false, "regenerate testdata/oracle.json from the live yaql oracle")

const pythonPath = "/usr/bin/python3"

type oracleCase struct {
	Expr  string          `json:"expr"`
	Data  json.RawMessage `json:"data"`
	Value json.RawMessage `json:"value,omitempty"`
	Error string          `json:"error,omitempty"`
}

// divergences are cases where Sirocco deliberately differs from the oracle;
// each says why. The table test checks our documented answer instead.
var divergences = map[string]struct {
	want any
	why  string
}{
	"10000000000000000000000": {why: "integers are 64-bit here; yaql's are unbounded (a syntax error names the literal)"},
	"9223372036854775807 + 1": {why: "integers are 64-bit here; overflow is an error instead of a big integer"},
	`'\N{BULLET}'`:            {want: `\N{BULLET}`, why: "\\N{name} escapes need the Unicode name table; not supported yet"},
}

func loadCorpus(t *testing.T) []oracleCase {
	t.Helper()
	b, err := os.ReadFile("testdata/corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	var groups []struct {
		Data  json.RawMessage `json:"data"`
		Exprs []string        `json:"exprs"`
	}
	if err := json.Unmarshal(b, &groups); err != nil {
		t.Fatal(err)
	}
	var out []oracleCase
	for _, g := range groups {
		for _, e := range g.Exprs {
			out = append(out, oracleCase{Expr: e, Data: g.Data})
		}
	}
	return out
}

// oracleAvailable reports whether the reference yaql can run here.
func oracleAvailable() bool {
	if _, err := os.Stat(pythonPath); err != nil {
		return false
	}
	return exec.Command(pythonPath, "-c", "import yaql").Run() == nil
}

// runOracle sends the cases through the reference evaluator in one process.
func runOracle(t *testing.T, cases []oracleCase) []oracleCase {
	t.Helper()
	var in bytes.Buffer
	for _, c := range cases {
		data := c.Data
		if len(data) == 0 {
			data = json.RawMessage("{}")
		}
		line, err := json.Marshal(map[string]any{"expr": c.Expr, "data": data})
		if err != nil {
			t.Fatal(err)
		}
		in.Write(line)
		in.WriteByte('\n')
	}
	cmd := exec.Command(pythonPath, "testdata/yaql_oracle.py")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v: %s", err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	res := make([]oracleCase, 0, len(cases))
	for i := 0; sc.Scan(); i++ {
		var r struct {
			Value json.RawMessage `json:"value"`
			Error *string         `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("oracle line %d: %v", i, err)
		}
		c := cases[i]
		if r.Error != nil {
			c.Error = *r.Error
		} else {
			c.Value = r.Value
		}
		res = append(res, c)
	}
	if len(res) != len(cases) {
		t.Fatalf("oracle answered %d of %d cases", len(res), len(cases))
	}
	return res
}

// decodeJSON decodes into the value model (int64 for integers).
func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	var conv func(any) any
	conv = func(v any) any {
		switch x := v.(type) {
		case json.Number:
			if !strings.ContainsAny(x.String(), ".eE") {
				if n, err := x.Int64(); err == nil {
					return n
				}
			}
			f, _ := x.Float64()
			return f
		case []any:
			for i := range x {
				x[i] = conv(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = conv(x[k])
			}
		}
		return v
	}
	return conv(v)
}

func isOracleSyntaxError(msg string) bool {
	return strings.HasPrefix(msg, "YaqlGrammarException") || strings.HasPrefix(msg, "YaqlLexicalException")
}

// checkCase compares our evaluation of c with the oracle's answer in c.
func checkCase(t *testing.T, c oracleCase) {
	t.Helper()
	var data any
	if len(c.Data) > 0 {
		data = decodeJSON(t, c.Data)
	}
	got, err := EvalString(c.Expr, &Env{Data: data})
	if d, ok := divergences[c.Expr]; ok {
		switch {
		case d.want == nil && err == nil:
			t.Errorf("%q: documented divergence (%s) expects an error, got %#v", c.Expr, d.why, got)
		case d.want != nil && (err != nil || !reflect.DeepEqual(got, d.want)):
			t.Errorf("%q: documented divergence (%s) expects %#v, got %#v, %v", c.Expr, d.why, d.want, got, err)
		}
		return
	}
	if c.Error != "" {
		if strings.Contains(c.Error, "is not JSON serializable") {
			return // yaql produced a set; Mistral-visible behaviour differs, see stdlib.go
		}
		if err == nil {
			t.Errorf("%q: oracle error %q, we returned %#v", c.Expr, c.Error, got)
			return
		}
		var ye *Error
		if !asError(err, &ye) {
			t.Errorf("%q: error is %T, not *Error: %v", c.Expr, err, err)
			return
		}
		if isOracleSyntaxError(c.Error) != (ye.Kind == SyntaxError) {
			t.Errorf("%q: oracle %q, we %v (kind mismatch)", c.Expr, c.Error, err)
		}
		return
	}
	if err != nil {
		t.Errorf("%q: oracle value %s, we failed: %v", c.Expr, c.Value, err)
		return
	}
	want := decodeJSON(t, c.Value)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q: oracle %s, we %#v", c.Expr, c.Value, got)
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

func TestOracleTable(t *testing.T) {
	if *update {
		if !oracleAvailable() {
			t.Fatal("-update needs python3-yaql")
		}
		res := runOracle(t, loadCorpus(t))
		b, err := json.MarshalIndent(res, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/oracle.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile("testdata/oracle.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []oracleCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		checkCase(t, c)
	}
	t.Logf("%d oracle cases", len(cases))
}

// TestOracleLive runs the corpus through the reference right now, so that a
// stale oracle.json cannot hide a difference.
func TestOracleLive(t *testing.T) {
	if !oracleAvailable() {
		t.Skip("python3-yaql not installed")
	}
	cases := runOracle(t, loadCorpus(t))
	for _, c := range cases {
		checkCase(t, c)
	}
}
