package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

const workbook = `---
version: '2.0'

name: wb
tags: [t1]

actions:
  greet:
    base: std.echo
    base-input:
      output: "Hello, <% $.name %>"
    input:
      - name

workflows:
  main:
    # the parent
    input:
      - name: world
    output:
      said: <% $.said %>
    tasks:
      call:
        workflow: sub name=<% $.name %>
        publish:
          said: <% task().result.said %>

  sub:
    input: [name]
    output:
      said: <% $.said %>
    tasks:
      t1:
        action: greet name=<% $.name %>
        publish:
          said: <% task().result %>
`

// mainText and subText are the workflows' own parts of the workbook, as
// Mistral 15 stores them (GET /v2/workflows/wb.main shows them).
const mainText = `main:
  # the parent
  input:
    - name: world
  output:
    said: <% $.said %>
  tasks:
    call:
      workflow: sub name=<% $.name %>
      publish:
        said: <% task().result.said %>
`

const subText = `sub:
  input: [name]
  output:
    said: <% $.said %>
  tasks:
    t1:
      action: greet name=<% $.name %>
      publish:
        said: <% task().result %>
`

// TestWorkbookRuns: a workbook's workflows are stored as "wb.<name>" with
// their own text, its actions as ad-hoc actions, and "wb.main" runs,
// calling its sibling workflow, which calls the workbook's action, each by
// its short name.
func TestWorkbookRuns(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	wb, err := r.eng.CreateWorkbook(ctx, workbook, "private")
	if err != nil {
		t.Fatal(err)
	}
	if wb.Name != "wb" || wb.Definition != workbook || len(wb.Tags) != 1 || !wb.UpdatedAt.IsZero() {
		t.Fatalf("workbook = %+v", wb)
	}
	for name, text := range map[string]string{"wb.main": mainText, "wb.sub": subText} {
		d, err := r.eng.GetWorkflow(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if d.Definition != text {
			t.Errorf("definition of %s:\n%s\nwant\n%s", name, d.Definition, text)
		}
	}
	err = r.store.InTx(ctx, func(tx store.Tx) error {
		a, err := tx.GetActionDef("wb.greet")
		if err != nil {
			return err
		}
		if a.Input != "name" || !strings.HasPrefix(a.Definition, "greet:\n  base: std.echo\n") {
			t.Errorf("action wb.greet = %+v", a)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	startScheduler(t, r.eng, &testClock{}) // sub-workflows start through it
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "wb.main", Input: map[string]any{"name": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if done := r.wait(t, ex.ID); done.State != store.StateSuccess || string(done.Output) != `{"said":"Hello, x"}` {
		t.Fatalf("execution = %s %s %s", done.State, done.StateInfo, done.Output)
	}
}

// TestWorkbookLifecycle: update creates or replaces the workflows and
// leaves unchanged ones (and an unchanged workbook) untouched; as in
// Mistral, neither an update that drops a workflow nor a delete removes
// workflows, and the workbook can be created again afterwards.
func TestWorkbookLifecycle(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkbook(ctx, workbook, "private"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.CreateWorkbook(ctx, workbook, "private"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: %v, want a conflict", err)
	}
	same, err := r.eng.UpdateWorkbook(ctx, workbook, "private")
	if err != nil {
		t.Fatal(err)
	}
	if !same.UpdatedAt.IsZero() {
		t.Errorf("an unchanged workbook got updated_at %v", same.UpdatedAt)
	}
	sub, err := r.eng.GetWorkflow(ctx, "wb.sub")
	if err != nil {
		t.Fatal(err)
	}

	// The new document changes main's description, drops sub, adds extra.
	changed := strings.Replace(workbook, "    # the parent\n", "    description: changed\n", 1)
	changed = strings.Replace(changed, "  sub:\n", "  extra:\n", 1)
	changed = strings.Replace(changed, "workflow: sub ", "workflow: extra ", 1)
	wb, err := r.eng.UpdateWorkbook(ctx, changed, "public")
	if err != nil {
		t.Fatal(err)
	}
	if wb.UpdatedAt.IsZero() || wb.Scope != "public" || wb.Definition != changed {
		t.Errorf("updated workbook = %+v", wb)
	}
	main, err := r.eng.GetWorkflow(ctx, "wb.main")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(main.Definition, "description: changed") || main.Scope != "public" {
		t.Errorf("wb.main after the update = %+v", main)
	}
	if _, err := r.eng.GetWorkflow(ctx, "wb.extra"); err != nil {
		t.Errorf("wb.extra was not created: %v", err)
	}
	kept, err := r.eng.GetWorkflow(ctx, "wb.sub")
	if err != nil || !kept.UpdatedAt.Equal(sub.UpdatedAt) {
		t.Errorf("wb.sub after an update that dropped it = %+v, %v; want it unchanged", kept, err)
	}

	if err := r.eng.DeleteWorkbook(ctx, "wb"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.GetWorkbook(ctx, "wb"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, err := r.eng.GetWorkflow(ctx, "wb.main"); err != nil {
		t.Errorf("wb.main went with its workbook: %v", err)
	}
	if err := r.eng.DeleteWorkbook(ctx, "wb"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := r.eng.CreateWorkbook(ctx, workbook, "private"); err != nil {
		t.Fatalf("create again after delete: %v", err)
	}
	list, err := r.eng.ListWorkbooks(ctx, store.ListOpts{})
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %v, %v", list, err)
	}
}

// TestWorkbookRefused: what cannot be stored changes nothing and says why.
func TestWorkbookRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	tests := []struct {
		name, doc string
		update    bool
		is        error // or nil for a BadRequest error
		says      string
	}{
		{"no name", "version: '2.0'\nworkflows:\n  a:\n    tasks:\n      t: {action: std.noop}\n", false, nil, "name"},
		{"broken YAML", "version: '2.0'\nname: x\nworkflows: [\n", false, nil, "3:12"},
		{"a bad workflow", "version: '2.0'\nname: x\nworkflows:\n  a:\n    tasks:\n      t: {action: std.noop, on-success: nowhere}\n", false, nil, "nowhere"},
		{"an action that shadows a served one", "version: '2.0'\nname: std\nactions:\n  echo:\n    base: std.noop\n", false, store.ErrConflict, `"std.echo"`},
		{"update of a missing workbook", "version: '2.0'\nname: ghost\n", true, store.ErrNotFound, `"ghost"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.update {
				_, err = r.eng.UpdateWorkbook(ctx, tc.doc, "private")
			} else {
				_, err = r.eng.CreateWorkbook(ctx, tc.doc, "private")
			}
			var br interface{ BadRequest() bool }
			switch {
			case err == nil:
				t.Fatal("accepted")
			case tc.is != nil && !errors.Is(err, tc.is), tc.is == nil && !errors.As(err, &br):
				t.Fatalf("error %v is not the kind wanted (%v)", err, tc.is)
			case !strings.Contains(err.Error(), tc.says):
				t.Fatalf("error %q does not say %q", err, tc.says)
			}
		})
	}
	list, err := r.eng.ListWorkbooks(ctx, store.ListOpts{})
	if err != nil || len(list) != 0 {
		t.Fatalf("workbooks stored after refusals: %v, %v", list, err)
	}
}

// TestItemText: the part of a document that defines one item, found by
// the position of its key, follows Mistral's rules for indentation,
// comments and blank lines.
func TestItemText(t *testing.T) {
	doc := "version: '2.0'\n" + // 1
		"workflows:\n" + // 2
		"  a:\n" + // 3
		"    tasks:\n" + // 4
		"\n" + // 5
		"      t: {action: std.noop}\n" + // 6
		"# a comment at the margin\n" + // 7
		"   # a comment inside\n" + // 8
		"  b: {tasks: {t: {action: std.noop}}}\n" + // 9
		"  c:\n" + // 10
		"    tasks: {}\n" + // 11
		"\n\n" // 12, 13
	tests := []struct {
		name      string
		line, col int
		want      string
	}{
		{"block, up to the next key", 3, 3, "a:\n  tasks:\n\n    t: {action: std.noop}\n# a comment at the margin\n # a comment inside\n"},
		{"flow style on one line", 9, 3, "b: {tasks: {t: {action: std.noop}}}\n"},
		{"the last one, trailing blank lines cut", 10, 3, "c:\n  tasks: {}\n"},
		{"no position: the whole document", 0, 0, doc},
		{"a position past the end", 99, 1, doc},
		{"a column that is not the key's", 3, 9, doc},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := itemText(doc, tc.line, tc.col); got != tc.want {
				t.Errorf("itemText(%d, %d) = %q, want %q", tc.line, tc.col, got, tc.want)
			}
		})
	}
}
