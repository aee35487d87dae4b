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

// TestEndedExecutionLeavesCache checks that an execution that ended is not
// kept, not even after a load of it or a late result that finishes one of
// its tasks.
func TestEndedExecutionLeavesCache(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, `
version: '2.0'
quick:
  tasks:
    a:
      action: std.noop
late:
  tasks:
    fails:
      action: std.noop
      publish:
        x: <% $.missing.field %>
    waits:
      action: std.async_noop
`); err != nil {
		t.Fatal(err)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "quick"})
	if err != nil {
		t.Fatal(err)
	}
	r.wait(t, ex.ID)
	if r.eng.execs.lru.Contains(ex.ID) {
		t.Fatal("an execution that ended is still in the cache")
	}
	if err := r.eng.store.InTx(ctx, func(tx store.Tx) error {
		row, err := tx.GetExecution(ex.ID, true)
		if err != nil {
			return err
		}
		_, err = r.eng.load(tx, row)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r.eng.execs.lru.Contains(ex.ID) {
		t.Fatal("a load of an ended execution put it in the cache")
	}

	// The execution fails while a task still waits for its action, whose
	// result comes after.
	ex, err = r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "late"})
	if err != nil {
		t.Fatal(err)
	}
	r.waitState(t, ex.ID, store.StateError)
	var rt struct {
		ActionExecutionID string `json:"action_execution_id"`
	}
	if err := json.Unmarshal(r.taskByName(t, ex.ID, "waits").Runtime, &rt); err != nil || rt.ActionExecutionID == "" {
		t.Fatalf("the waiting task's action: %q, %v", rt.ActionExecutionID, err)
	}
	if err := r.eng.CompleteActionExecution(ctx, rt.ActionExecutionID, store.StateSuccess, 1); err != nil {
		t.Fatal(err)
	}
	if got := r.taskByName(t, ex.ID, "waits"); got.State != store.StateSuccess {
		t.Fatalf("the late result left its task %s, want SUCCESS", got.State)
	}
	if r.eng.execs.lru.Contains(ex.ID) {
		t.Fatal("a late result put its ended execution in the cache")
	}
}

// TestExecCacheBudget checks that the cache keeps within its count and its
// byte budget, dropping the least recently put, and keeps its count of
// bytes right through replacements, takes and evictions.
func TestExecCacheBudget(t *testing.T) {
	type op struct {
		do   string // put, take or forget
		id   string
		size int // of a put
	}
	put := func(id string, size int) op { return op{"put", id, size} }
	for _, tc := range []struct {
		name      string
		size      int
		budget    int
		ops       []op
		want      []string // kept, oldest first
		wantBytes int
	}{
		{"all fit", 8, 100, []op{put("a", 30), put("b", 30), put("c", 30)}, []string{"a", "b", "c"}, 90},
		{"the oldest goes", 8, 100, []op{put("a", 40), put("b", 40), put("c", 40)}, []string{"b", "c"}, 80},
		{"several go for a heavy one", 8, 100, []op{put("a", 30), put("b", 30), put("c", 30), put("d", 90)}, []string{"d"}, 90},
		{"a take and put makes it newest", 8, 100,
			[]op{put("a", 40), put("b", 40), {"take", "a", 0}, put("a", 40), put("c", 40)}, []string{"a", "c"}, 80},
		{"one above the budget is not kept", 8, 100, []op{put("a", 30), put("big", 101)}, []string{"a"}, 30},
		{"a put replaces", 8, 100, []op{put("a", 30), put("b", 10), put("a", 60)}, []string{"b", "a"}, 70},
		{"a replacement too big drops the old copy", 8, 100, []op{put("a", 30), put("a", 200)}, nil, 0},
		{"forget", 8, 100, []op{put("a", 30), put("b", 30), {"forget", "a", 0}}, []string{"b"}, 30},
		{"the count bounds too", 2, 100, []op{put("a", 1), put("b", 1), put("c", 1)}, []string{"b", "c"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newExecCache(tc.size, tc.budget)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tc.ops {
				switch o.do {
				case "put":
					c.put(o.id, &cachedExec{tasks: cachedTasks{"t": {size: o.size}}})
				case "take":
					if c.take(o.id) == nil {
						t.Fatalf("take %s: not in the cache", o.id)
					}
				case "forget":
					c.forget(o.id)
				}
			}
			if got := c.lru.Keys(); !reflect.DeepEqual(got, tc.want) && len(got)+len(tc.want) > 0 {
				t.Errorf("kept %v, want %v", got, tc.want)
			}
			if c.bytes != tc.wantBytes {
				t.Errorf("bytes %d, want %d", c.bytes, tc.wantBytes)
			}
		})
	}
}
