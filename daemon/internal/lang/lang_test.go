package lang

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseFile(t *testing.T, path string) (*Document, error) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return ParseWorkflows(src, Options{Source: filepath.Base(path)})
}

func TestGoodFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no good files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc, err := parseFile(t, f)
			if err != nil {
				t.Fatalf("unexpected error:\n%v", err)
			}
			checkRoundTrip(t, doc)
		})
	}
}

// checkRoundTrip checks that a Document survives JSON, as the engine
// stores it.
func checkRoundTrip(t *testing.T, doc *Document) {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var back Document
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if !reflect.DeepEqual(doc, &back) {
		b2, _ := json.Marshal(&back)
		t.Fatalf("JSON round trip changed the document:\n%s\n%s", b, b2)
	}
}

func TestHelloContents(t *testing.T) {
	doc, err := parseFile(t, "testdata/hello.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.0" || len(doc.Workflows) != 2 {
		t.Fatalf("got version %q, %d workflows", doc.Version, len(doc.Workflows))
	}
	wf := doc.Workflows[0]
	if wf.Name != "hello_wf" || wf.Type != TypeDirect || wf.Line != 4 || wf.Col != 1 {
		t.Errorf("workflow header: %+v", wf)
	}
	wantIn := []Param{{Name: "name"}, {Name: "greeting", Default: "Hello", HasDefault: true}, {Name: "count", Default: int64(3), HasDefault: true}}
	if !reflect.DeepEqual(wf.Input, wantIn) {
		t.Errorf("input = %#v", wf.Input)
	}
	wantVars := map[string]any{"enabled": true, "ratio": "1e3", "octal": int64(10)}
	if !reflect.DeepEqual(wf.Vars, wantVars) {
		t.Errorf("vars (YAML 1.1) = %#v", wf.Vars)
	}
	t1 := wf.Task("t1")
	if t1.Action != "std.echo" {
		t.Errorf("t1.Action = %q", t1.Action)
	}
	wantInput := map[string]any{"output": "<% $.greeting %>, <% $.name %>", "x": int64(1), "flag": true,
		"list": []any{int64(1), int64(2)}, "extra": "keep"}
	if !reflect.DeepEqual(t1.Input, wantInput) {
		t.Errorf("t1.Input = %#v", t1.Input)
	}
	wantSucc := []Transition{{Task: "t2", Guard: "<% $.count > 1 %>", Line: 30, Col: 11}, {Task: "t3", Line: 31, Col: 11}}
	if !reflect.DeepEqual(t1.OnSuccess, wantSucc) {
		t.Errorf("t1.OnSuccess = %#v", t1.OnSuccess)
	}
	if want := []Transition{{Command: CmdNoop, Line: 32, Col: 20}}; !reflect.DeepEqual(t1.OnComplete, want) {
		t.Errorf("t1.OnComplete = %#v", t1.OnComplete)
	}
	t2 := wf.Task("t2")
	if t2.Action != "" || t2.Workflow != "sub_wf" || !reflect.DeepEqual(t2.Input, map[string]any{"name": "<% $.name %>"}) {
		t.Errorf("t2 = %+v", t2)
	}
	t3 := wf.Task("t3")
	if t3.Join != JoinAll || !reflect.DeepEqual(t3.WithItems, []WithItem{{Var: "x", Expr: "<% $.items %>"}}) {
		t.Errorf("t3 = %+v", t3)
	}
	if want := []Transition{{Command: CmdPause, Msg: "waiting for you", Line: 47, Col: 13}}; !reflect.DeepEqual(t3.OnSuccess, want) {
		t.Errorf("t3.OnSuccess = %#v", t3.OnSuccess)
	}
	if want := (&ScopedPublish{Branch: map[string]any{"a": int64(1)}, Global: map[string]any{"b": "<% $.a %>"}}); !reflect.DeepEqual(t3.OnSuccessPublish, want) {
		t.Errorf("t3.OnSuccessPublish = %#v", t3.OnSuccessPublish)
	}
	t4 := wf.Task("t4")
	if t4.Action != "std.noop" || t4.WaitBefore != int64(1) || t4.Timeout != "<% $.t %>" || t4.KeepResult != false ||
		t4.SafeRerun != true || t4.PauseBefore != "<% true %>" ||
		!reflect.DeepEqual(t4.Retry, &Retry{Count: int64(5), Delay: int64(1), BreakOn: "<% $.stop %>"}) {
		t.Errorf("t4 = %+v, retry %+v", t4, t4.Retry)
	}
	td := wf.TaskDefaults
	if td == nil || !reflect.DeepEqual(td.Retry, &Retry{Count: int64(2), Delay: int64(1)}) ||
		!reflect.DeepEqual(td.OnError, []Transition{{Command: CmdFail, Msg: "default failure", Line: 20, Col: 9}}) {
		t.Errorf("task-defaults = %+v", td)
	}
	sub := doc.Workflows[1]
	if sub.Type != TypeReverse || !reflect.DeepEqual(sub.Task("b").Requires, []string{"a"}) {
		t.Errorf("sub_wf = %+v", sub)
	}
}

// badCases lists, for each *.bad.yaml, the exact errors expected.
var badCases = map[string][]string{
	"unknown_key.bad.yaml": {
		`unknown_key.bad.yaml:6:7: workflow "hello_wf", task "t1": unknown key "actoin" (did you mean "action"?)`,
	},
	"both.bad.yaml": {
		`both.bad.yaml:6:7: workflow "wf", task "t1": a task must have either 'action' or 'workflow', not both`,
		`both.bad.yaml:7:24: workflow "wf", task "t1": transition to task "missing", which does not exist`,
		`both.bad.yaml:9:7: workflow "wf", task "t2": unknown key "requires" (only tasks of reverse workflows have 'requires')`,
	},
	"tasks_list.bad.yaml": {
		`tasks_list.bad.yaml:4:5: workflow "wf": 'tasks' must be a mapping of task name to task, not a list`,
	},
	// yaml.v3 reports the line of the construct being read (here the
	// mapping of t1), not always the line of the offending character.
	"malformed.bad.yaml": {
		`malformed.bad.yaml:6:6: invalid YAML: this line is not indented like the lines above it: a key here does not belong to the mapping or list before it (check the indentation)`,
	},
	"version.bad.yaml": {
		`version.bad.yaml:1:1: missing required key 'version' (it must be '2.0') (is "verison" a misspelling of it?)`,
		`version.bad.yaml:1:10: workflow "verison": a workflow must be a non-empty mapping, not string "2.0"`,
		`version.bad.yaml:6:14: workflow "wf", task "t1": retry: missing required key 'count'`,
		`version.bad.yaml:6:14: workflow "wf", task "t1": retry: missing required key 'delay'`,
		`version.bad.yaml:7:20: workflow "wf", task "t1": 'wait-before' must be a non-negative integer or an expression, not string "soon"`,
		`version.bad.yaml:8:19: workflow "wf", task "t1": on-success: "fail(msg=x)" is not a task name, 'name key=value' or 'name(key=value)'`,
	},
	"nostart.bad.yaml": {
		`nostart.bad.yaml:4:5: workflow "wf": no start task: every task has an inbound transition, so none can run first`,
		`nostart.bad.yaml:4:5: workflow "wf", task "a": not enough inbound tasks for 'join: 3' (1 inbound)`,
		`nostart.bad.yaml:9:20: workflow "wf", task "b": 'with-items' elements must be strings like 'x in <% $.list %>', not integer 1`,
		`nostart.bad.yaml:9:23: workflow "wf", task "b": 'with-items' elements must be strings like 'x in <% $.list %>', not integer 2`,
	},
}

func TestBadFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) != len(badCases) {
		t.Errorf("%d bad files, %d cases", len(files), len(badCases))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc, err := parseFile(t, f)
			if err == nil {
				t.Fatalf("no error; doc = %+v", doc)
			}
			var el ErrorList
			if !errors.As(err, &el) {
				t.Fatalf("error is %T, not ErrorList", err)
			}
			var got []string
			for _, e := range el {
				got = append(got, e.Error())
			}
			if want := badCases[filepath.Base(f)]; !reflect.DeepEqual(got, want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
