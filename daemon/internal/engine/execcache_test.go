package engine

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/engine/controller"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// TestExecCache checks the execution cache against the table: a load with
// nothing changed gives the cached task and variables themselves, a task
// row or execution context another writer changed is read again, and what
// a failed transaction changed in memory is gone.
func TestExecCache(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, `
version: '2.0'
waits:
  tasks:
    hold:
      action: std.async_noop
`); err != nil {
		t.Fatal(err)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "waits"})
	if err != nil {
		t.Fatal(err)
	}
	// load loads the execution in a transaction of the engine's store and
	// gives its one task; fail makes the transaction fail after change has
	// run.
	var vars map[string]any
	load := func(change func(*controller.Task), fail bool) *controller.Task {
		t.Helper()
		var task *controller.Task
		boom := errors.New("boom")
		err := r.eng.store.InTx(ctx, func(tx store.Tx) error {
			row, err := tx.GetExecution(ex.ID, true)
			if err != nil {
				return err
			}
			st, err := r.eng.load(tx, row)
			if err != nil {
				return err
			}
			if len(st.Tasks) != 1 {
				t.Fatalf("loaded %d tasks, want 1", len(st.Tasks))
			}
			task, vars = st.Tasks[0], st.Exec.Vars
			if change != nil {
				change(task)
			}
			if fail {
				return boom
			}
			return nil
		})
		if fail != errors.Is(err, boom) || (!fail && err != nil) {
			t.Fatalf("transaction: %v", err)
		}
		return task
	}

	first := load(nil, false)
	firstVars := vars
	if again := load(nil, false); again != first {
		t.Fatal("a load with no row changed decoded the task again instead of taking it from the cache")
	}
	if reflect.ValueOf(vars).Pointer() != reflect.ValueOf(firstVars).Pointer() {
		t.Fatal("a load with no row changed decoded the execution's context again")
	}

	// Another writer (another engine on the same database) changes the
	// row: the rev tells.
	if err := r.store.InTx(ctx, func(tx store.Tx) error {
		row, err := tx.GetTaskExecution(first.ID)
		if err != nil {
			return err
		}
		row.Published = []byte(`{"by":"another engine"}`)
		return tx.UpdateTaskExecution(row)
	}); err != nil {
		t.Fatal(err)
	}
	if got := load(nil, false); got.Published["by"] != "another engine" {
		t.Fatalf("after another writer changed the row: published %v, want the row's", got.Published)
	}

	if err := r.store.InTx(ctx, func(tx store.Tx) error {
		row, err := tx.GetExecution(ex.ID, true)
		if err != nil {
			return err
		}
		var c map[string]any
		if err := json.Unmarshal(row.Context, &c); err != nil {
			return err
		}
		c["vars"] = map[string]any{"by": "another engine"}
		if row.Context, err = json.Marshal(c); err != nil {
			return err
		}
		return tx.UpdateExecution(row)
	}); err != nil {
		t.Fatal(err)
	}
	if load(nil, false); vars["by"] != "another engine" {
		t.Fatalf("after another writer changed the context: vars %v, want the row's", vars)
	}

	// A transaction that fails leaves nothing of what it changed.
	load(func(task *controller.Task) { task.Published = map[string]any{"by": "a failed transaction"} }, true)
	if got := load(nil, false); got.Published["by"] != "another engine" {
		t.Fatalf("after a failed transaction: published %v, want the row's", got.Published)
	}
}

// TestSkipWithEnvKeepsRunningExecution skips a failed task with an env
// while the execution stays RUNNING (a handler is still waiting): the env
// must reach the execution row, and a load (checked against the row, as
// the tests set it) must see the same params.
func TestSkipWithEnvKeepsRunningExecution(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, `
version: '2.0'
skipper:
  tasks:
    a:
      action: std.fail
      on-error: [h]
    h:
      action: std.async_noop
`); err != nil {
		t.Fatal(err)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "skipper"})
	if err != nil {
		t.Fatal(err)
	}
	// h is RUNNING (waiting for its async result) once a has failed and
	// been handled.
	var a *store.TaskExecution
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		tasks, err := r.eng.ListTasks(ctx, ex.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks) == 2 && tasks[0].State == "ERROR" && tasks[1].State == "RUNNING" {
			a = tasks[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks of %s never reached a ERROR, h RUNNING: %d tasks", ex.ID, len(tasks))
		}
	}
	if _, err := r.eng.RerunTask(ctx, a.ID, api.TaskUpdate{State: "SKIPPED", Env: map[string]any{"k": int64(1)}}); err != nil {
		t.Fatal(err)
	}
	row, err := r.eng.GetExecution(ctx, ex.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.State != store.StateRunning || !strings.Contains(string(row.Params), `"k":1`) {
		t.Fatalf("after the skip: state %s, params %s; want RUNNING with the env", row.State, row.Params)
	}
	if err := r.eng.store.InTx(ctx, func(tx store.Tx) error {
		locked, err := tx.GetExecution(ex.ID, true)
		if err != nil {
			return err
		}
		st, err := r.eng.load(tx, locked)
		if err != nil {
			return err
		}
		if env, _ := st.Exec.Params["env"].(map[string]any); env["k"] != int64(1) {
			t.Errorf("loaded params %v, want env k=1", st.Exec.Params)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
