// Package storetest is the one test suite every store.Store implementation
// must pass. The SQLite and PostgreSQL stores run the same cases, which is
// what lets the engine ignore which database it talks to.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// Open returns a fresh, migrated, empty store that t closes when it ends.
type Open func(t *testing.T) store.Store

// Run runs every case against stores made by open, one store per case so
// that cases cannot see each other's rows.
func Run(t *testing.T, open Open) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"MigrateIsIdempotent", testMigrateIdempotent},
		{"WorkflowDefs", testWorkflowDefs},
		{"WorkflowDefNamespaces", testWorkflowDefNamespaces},
		{"ActionDefs", testActionDefs},
		{"ActionRuns", testActionRuns},
		{"Executions", testExecutions},
		{"TaskExecutions", testTaskExecutions},
		{"ActionExecutions", testActionExecutions},
		{"TaskActionExecutions", testTaskActionExecutions},
		{"DeleteExecution", testDeleteExecution},
		{"ListAllTaskExecutions", testListAllTaskExecutions},
		{"Outbox", testOutbox},
		{"Counts", testCounts},
		{"ListExecutions", testListExecutions},
		{"ListWorkflowDefs", testListWorkflowDefs},
		{"ListOptsErrors", testListOptsErrors},
		{"RollbackOnError", testRollbackOnError},
		{"RollbackOnPanic", testRollbackOnPanic},
		{"ConcurrentUpdatesSerialise", testConcurrentUpdates},
		{"TimestampsAreUTC", testTimestampsUTC},
		{"CancelledContext", testCancelledContext},
		{"FailedStatementFailsTx", testFailedStatementFailsTx},
		{"Timers", testTimers},
		{"TimerClaimsAreDisjoint", testTimerClaimsDisjoint},
		{"CronTriggers", testCronTriggers},
		{"ListCronTriggers", testListCronTriggers},
		{"Environments", testEnvironments},
		{"Workbooks", testWorkbooks},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// tx runs fn in a transaction and fails the test if it does not commit.
func tx(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatalf("InTx: %v", err)
	}
}

// wantErr fails unless err wraps target; a nil target means no error.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error: %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testMigrateIdempotent(t *testing.T, s store.Store) {
	for i := 0; i < 2; i++ {
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatalf("Migrate again (%d): %v", i, err)
		}
	}
	tx(t, s, func(tx store.Tx) error {
		return tx.CreateExecution(&store.Execution{WorkflowName: "wf", State: store.StateIdle})
	})
}

func testWorkflowDefs(t *testing.T, s store.Store) {
	d := &store.WorkflowDef{
		Name: "hello", Definition: "version: '2.0'\nhello: {}\n", Spec: []byte(`{"tasks":{}}`),
		Input: "name, greeting=hi", Tags: []string{"a", "b"},
	}
	tx(t, s, func(tx store.Tx) error { return tx.CreateWorkflowDef(d) })
	if d.ID == "" || d.CreatedAt.IsZero() || !d.UpdatedAt.Equal(d.CreatedAt) || d.Scope != "private" {
		t.Fatalf("create did not fill id, timestamps, scope: %+v", d)
	}
	tx(t, s, func(tx store.Tx) error {
		byName, err := tx.GetWorkflowDef("hello")
		wantErr(t, "get by name", err, nil)
		equal(t, "get by name", byName, d)
		byID, err := tx.GetWorkflowDef(d.ID)
		wantErr(t, "get by id", err, nil)
		equal(t, "get by id", byID, d)

		_, err = tx.GetWorkflowDef("nope")
		wantErr(t, "get missing", err, store.ErrNotFound)
		if err != nil && !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("not-found error %q does not name the workflow", err)
		}
		err = tx.CreateWorkflowDef(&store.WorkflowDef{Name: "hello", Definition: "x"})
		wantErr(t, "create duplicate", err, store.ErrConflict)
		return nil
	})

	// Update by name (no id), the way Mistral's PUT names a workflow.
	upd := &store.WorkflowDef{Name: "hello", Definition: "v2", Spec: []byte(`{"v":2}`), Scope: "public"}
	tx(t, s, func(tx store.Tx) error { return tx.UpdateWorkflowDef(upd) })
	equal(t, "update filled id", upd.ID, d.ID)
	equal(t, "update kept created_at", upd.CreatedAt, d.CreatedAt)
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.GetWorkflowDef("hello")
		wantErr(t, "get after update", err, nil)
		equal(t, "after update", got, upd)

		wantErr(t, "create other", tx.CreateWorkflowDef(&store.WorkflowDef{Name: "other", Definition: "x"}), nil)
		return nil
	})
	// Renaming by id onto an existing name conflicts. A failed UPDATE fails
	// its transaction (on both databases), so it runs in one of its own.
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		return tx.UpdateWorkflowDef(&store.WorkflowDef{ID: d.ID, Name: "other", Definition: "x"})
	})
	wantErr(t, "rename onto existing", err, store.ErrConflict)
	tx(t, s, func(tx store.Tx) error {
		wantErr(t, "rename by id", tx.UpdateWorkflowDef(&store.WorkflowDef{ID: d.ID, Name: "renamed", Definition: "x"}), nil)
		_, err := tx.GetWorkflowDef("renamed")
		wantErr(t, "get renamed", err, nil)
		wantErr(t, "update missing by name", tx.UpdateWorkflowDef(&store.WorkflowDef{Name: "ghost"}), store.ErrNotFound)
		wantErr(t, "update missing by id", tx.UpdateWorkflowDef(&store.WorkflowDef{ID: "ghost-id", Name: "ghost"}), store.ErrNotFound)

		wantErr(t, "delete by name", tx.DeleteWorkflowDef("renamed"), nil)
		wantErr(t, "delete again", tx.DeleteWorkflowDef("renamed"), store.ErrNotFound)
		o, err := tx.GetWorkflowDef("other")
		wantErr(t, "get other", err, nil)
		wantErr(t, "delete by id", tx.DeleteWorkflowDef(o.ID), nil)
		defs, err := tx.ListWorkflowDefs(store.ListOpts{})
		wantErr(t, "list", err, nil)
		equal(t, "left after deletes", len(defs), 0)
		return nil
	})
}

func testWorkflowDefNamespaces(t *testing.T, s store.Store) {
	tx(t, s, func(tx store.Tx) error {
		for _, ns := range []string{"", "team-a", "team-b"} {
			wantErr(t, "create in "+ns, tx.CreateWorkflowDef(&store.WorkflowDef{Name: "wf", Namespace: ns, Definition: ns}), nil)
		}
		wantErr(t, "duplicate in team-a",
			tx.CreateWorkflowDef(&store.WorkflowDef{Name: "wf", Namespace: "team-a", Definition: "x"}), store.ErrConflict)

		for _, ns := range []string{"", "team-a", "team-b"} {
			d, err := tx.GetWorkflowDefInNamespace(ns, "wf")
			wantErr(t, "get in "+ns, err, nil)
			equal(t, "definition in "+ns, d.Definition, ns)
		}
		_, err := tx.GetWorkflowDefInNamespace("team-c", "wf")
		wantErr(t, "get in missing namespace", err, store.ErrNotFound)

		// Without a namespace, the default one is meant.
		d, err := tx.GetWorkflowDef("wf")
		wantErr(t, "get default", err, nil)
		equal(t, "default namespace", d.Namespace, "")

		wantErr(t, "delete team-a", tx.DeleteWorkflowDefInNamespace("team-a", "wf"), nil)
		wantErr(t, "delete team-a again", tx.DeleteWorkflowDefInNamespace("team-a", "wf"), store.ErrNotFound)
		_, err = tx.GetWorkflowDefInNamespace("team-b", "wf")
		wantErr(t, "team-b survives", err, nil)
		return nil
	})
}

func testExecutions(t *testing.T, s store.Store) {
	e := &store.Execution{
		WorkflowID: "wf-id", WorkflowName: "wf", Namespace: "ns", Description: "first", State: store.StateRunning,
		Input: []byte(`{"a": 1}`), Params: []byte(`{"env":{}}`), Context: []byte(`{"n":0}`),
		TaskExecutionID: "parent-task", RootExecutionID: "root",
	}
	tx(t, s, func(tx store.Tx) error { return tx.CreateExecution(e) })
	if e.ID == "" || e.CreatedAt.IsZero() {
		t.Fatalf("create did not fill id and created_at: %+v", e)
	}
	for _, lock := range []bool{false, true} {
		tx(t, s, func(tx store.Tx) error {
			got, err := tx.GetExecution(e.ID, lock)
			wantErr(t, "get", err, nil)
			equal(t, fmt.Sprintf("get lock=%v", lock), got, e)
			return nil
		})
	}
	e.State, e.StateInfo, e.Output, e.Context = store.StateError, "boom", []byte(`{"r":[1,2]}`), nil
	before := e.UpdatedAt
	tx(t, s, func(tx store.Tx) error { return tx.UpdateExecution(e) })
	if e.UpdatedAt.Before(before) {
		t.Fatalf("updated_at went back: %v < %v", e.UpdatedAt, before)
	}
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.GetExecution(e.ID, false)
		wantErr(t, "get after update", err, nil)
		equal(t, "after update", got, e)

		_, err = tx.GetExecution("missing", true)
		wantErr(t, "get missing", err, store.ErrNotFound)
		wantErr(t, "update missing", tx.UpdateExecution(&store.Execution{ID: "missing", State: "x"}), store.ErrNotFound)
		dup := *e
		wantErr(t, "create duplicate id", tx.CreateExecution(&dup), store.ErrConflict)
		return nil
	})
}

func testTaskExecutions(t *testing.T, s store.Store) {
	e := &store.Execution{WorkflowName: "wf", State: store.StateRunning}
	tx(t, s, func(tx store.Tx) error { return tx.CreateExecution(e) })
	names := []string{"c", "a", "b"}
	var tasks []*store.TaskExecution
	tx(t, s, func(tx store.Tx) error {
		for i, n := range names {
			te := &store.TaskExecution{
				ExecutionID: e.ID, WorkflowName: "wf", Name: n, State: store.StateRunning,
				Runtime: []byte(`{"attempt":1}`), CreatedAt: t0.Add(time.Duration(i) * time.Second),
			}
			wantErr(t, "create task "+n, tx.CreateTaskExecution(te), nil)
			tasks = append(tasks, te)
		}
		return nil
	})
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		return tx.CreateTaskExecution(&store.TaskExecution{ExecutionID: "no-such-execution", Name: "x", State: store.StateRunning})
	})
	wantErr(t, "task of missing execution", err, store.ErrNotFound)
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.ListTaskExecutions(e.ID)
		wantErr(t, "list", err, nil)
		equal(t, "list in creation order", got, tasks)

		none, err := tx.ListTaskExecutions("no-such-execution")
		wantErr(t, "list missing", err, nil)
		equal(t, "tasks of missing execution", len(none), 0)

		te := tasks[1]
		equal(t, "rev when created", te.Rev, int64(0))
		te.State, te.Processed, te.Published, te.Result = store.StateSuccess, true, []byte(`{"x":1}`), []byte(`"ok"`)
		te.Rev = 41 // the store counts; what the caller holds does not matter
		wantErr(t, "update", tx.UpdateTaskExecution(te), nil)
		equal(t, "rev after an update", te.Rev, int64(1))
		back, err := tx.GetTaskExecution(te.ID)
		wantErr(t, "get", err, nil)
		equal(t, "after update", back, te)
		wantErr(t, "update again", tx.UpdateTaskExecution(te), nil)
		equal(t, "rev after a second update", te.Rev, int64(2))

		revs, err := tx.ListTaskRevs(e.ID)
		wantErr(t, "list revs", err, nil)
		equal(t, "revs in creation order", revs, []store.TaskRev{{ID: tasks[0].ID}, {ID: te.ID, Rev: 2}, {ID: tasks[2].ID}})
		noRevs, err := tx.ListTaskRevs("no-such-execution")
		wantErr(t, "list revs missing", err, nil)
		equal(t, "revs of missing execution", len(noRevs), 0)

		_, err = tx.GetTaskExecution("missing")
		wantErr(t, "get missing", err, store.ErrNotFound)
		wantErr(t, "update missing", tx.UpdateTaskExecution(&store.TaskExecution{ID: "missing"}), store.ErrNotFound)
		dup := *te
		wantErr(t, "duplicate id", tx.CreateTaskExecution(&dup), store.ErrConflict)
		return nil
	})
}

// testDeleteExecution deletes an execution with a task, an action and a
// sub-workflow execution under it, and checks that a sibling execution and
// an ad-hoc action stay.
func testDeleteExecution(t *testing.T, s store.Store) {
	root := &store.Execution{WorkflowName: "wf", State: store.StateSuccess}
	other := &store.Execution{WorkflowName: "wf", State: store.StateSuccess}
	var task, subTask *store.TaskExecution
	sub := &store.Execution{WorkflowName: "sub", State: store.StateSuccess}
	var action, subAction *store.ActionExecution
	adHoc := &store.ActionExecution{Name: "std.noop", State: store.StateSuccess}
	var otherTask *store.TaskExecution
	tx(t, s, func(tx store.Tx) error {
		wantErr(t, "create root", tx.CreateExecution(root), nil)
		wantErr(t, "create other", tx.CreateExecution(other), nil)
		task = &store.TaskExecution{ExecutionID: root.ID, Name: "t", State: store.StateSuccess}
		wantErr(t, "create task", tx.CreateTaskExecution(task), nil)
		sub.TaskExecutionID, sub.RootExecutionID = task.ID, root.ID
		wantErr(t, "create sub", tx.CreateExecution(sub), nil)
		subTask = &store.TaskExecution{ExecutionID: sub.ID, Name: "st", State: store.StateSuccess}
		wantErr(t, "create sub task", tx.CreateTaskExecution(subTask), nil)
		action = &store.ActionExecution{TaskExecutionID: task.ID, ExecutionID: root.ID, Name: "std.echo", State: store.StateSuccess}
		wantErr(t, "create action", tx.CreateActionExecution(action), nil)
		subAction = &store.ActionExecution{TaskExecutionID: subTask.ID, ExecutionID: sub.ID, Name: "std.echo", State: store.StateSuccess}
		wantErr(t, "create sub action", tx.CreateActionExecution(subAction), nil)
		wantErr(t, "create ad hoc", tx.CreateActionExecution(adHoc), nil)
		otherTask = &store.TaskExecution{ExecutionID: other.ID, Name: "t", State: store.StateSuccess}
		return tx.CreateTaskExecution(otherTask)
	})
	tx(t, s, func(tx store.Tx) error { return tx.DeleteExecution(root.ID) })
	tx(t, s, func(tx store.Tx) error {
		for _, id := range []string{root.ID, sub.ID} {
			_, err := tx.GetExecution(id, false)
			wantErr(t, "execution after delete", err, store.ErrNotFound)
		}
		for _, id := range []string{task.ID, subTask.ID} {
			_, err := tx.GetTaskExecution(id)
			wantErr(t, "task after delete", err, store.ErrNotFound)
		}
		for _, id := range []string{action.ID, subAction.ID} {
			_, err := tx.GetActionExecution(id)
			wantErr(t, "action after delete", err, store.ErrNotFound)
		}
		_, err := tx.GetExecution(other.ID, false)
		wantErr(t, "other execution", err, nil)
		_, err = tx.GetTaskExecution(otherTask.ID)
		wantErr(t, "other task", err, nil)
		_, err = tx.GetActionExecution(adHoc.ID)
		wantErr(t, "ad-hoc action", err, nil)
		wantErr(t, "delete again", tx.DeleteExecution(root.ID), store.ErrNotFound)
		return nil
	})
}

// testListAllTaskExecutions lists tasks of two executions with filters,
// sorting and a marker.
func testListAllTaskExecutions(t *testing.T, s store.Store) {
	tx(t, s, func(tx store.Tx) error {
		for i, ex := range []string{"ea", "eb"} {
			wantErr(t, "create "+ex, tx.CreateExecution(&store.Execution{ID: ex, WorkflowName: "wf-" + ex, State: store.StateRunning}), nil)
			for j, name := range []string{"t1", "t2"} {
				state := store.StateSuccess
				if j == 1 {
					state = store.StateRunning
				}
				te := &store.TaskExecution{ID: ex + "-" + name, ExecutionID: ex, WorkflowName: "wf-" + ex, Name: name, State: state,
					CreatedAt: t0.Add(time.Duration(2*i+j) * time.Second)}
				wantErr(t, "create task", tx.CreateTaskExecution(te), nil)
			}
		}
		return nil
	})
	names := func(ts []*store.TaskExecution) string {
		var out []string
		for _, te := range ts {
			out = append(out, te.ID)
		}
		return strings.Join(out, " ")
	}
	cases := []struct {
		name string
		opts store.ListOpts
		want string
	}{
		{"all, oldest first", store.ListOpts{}, "ea-t1 ea-t2 eb-t1 eb-t2"},
		{"newest first", store.ListOpts{SortKeys: []string{"created_at"}, SortDirs: []string{"desc"}}, "eb-t2 eb-t1 ea-t2 ea-t1"},
		{"one execution", store.ListOpts{Filters: map[string]string{"workflow_execution_id": "eb"}}, "eb-t1 eb-t2"},
		{"by state and name", store.ListOpts{Filters: map[string]string{"state": store.StateRunning, "name": "t2"}}, "ea-t2 eb-t2"},
		{"by workflow", store.ListOpts{Filters: map[string]string{"workflow_name": "wf-ea"}}, "ea-t1 ea-t2"},
		{"after a marker", store.ListOpts{Marker: "ea-t2", Limit: 1}, "eb-t1"},
	}
	for _, c := range cases {
		tx(t, s, func(tx store.Tx) error {
			got, err := tx.ListAllTaskExecutions(c.opts)
			wantErr(t, c.name, err, nil)
			equal(t, c.name, names(got), c.want)
			return nil
		})
	}
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		_, err := tx.ListAllTaskExecutions(store.ListOpts{Filters: map[string]string{"result": "x"}})
		return err
	})
	wantErr(t, "unknown filter", err, store.ErrBadListOpts)
}

func testActionExecutions(t *testing.T, s store.Store) {
	e := &store.Execution{WorkflowName: "wf", State: store.StateRunning}
	te := &store.TaskExecution{Name: "t", State: store.StateRunning}
	tx(t, s, func(tx store.Tx) error {
		wantErr(t, "create execution", tx.CreateExecution(e), nil)
		te.ExecutionID = e.ID
		return tx.CreateTaskExecution(te)
	})
	inTask := &store.ActionExecution{TaskExecutionID: te.ID, ExecutionID: e.ID, Name: "std.echo", State: store.StateRunning,
		Input: []byte(`{"output":"hi"}`), Attempt: 1}
	adHoc := &store.ActionExecution{Name: "std.noop", State: store.StateRunning}
	tx(t, s, func(tx store.Tx) error {
		wantErr(t, "create in task", tx.CreateActionExecution(inTask), nil)
		wantErr(t, "create ad hoc", tx.CreateActionExecution(adHoc), nil)
		return nil
	})
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		return tx.CreateActionExecution(&store.ActionExecution{TaskExecutionID: "no-such-task", Name: "x", State: "RUNNING"})
	})
	wantErr(t, "action of missing task", err, store.ErrNotFound)
	tx(t, s, func(tx store.Tx) error {
		for _, a := range []*store.ActionExecution{inTask, adHoc} {
			got, err := tx.GetActionExecution(a.ID)
			wantErr(t, "get "+a.Name, err, nil)
			equal(t, "get "+a.Name, got, a)
		}
		inTask.State, inTask.Output, inTask.Attempt, inTask.StateInfo = store.StateError, []byte(`{"e":"x"}`), 2, "failed"
		wantErr(t, "update", tx.UpdateActionExecution(inTask), nil)
		got, err := tx.GetActionExecution(inTask.ID)
		wantErr(t, "get after update", err, nil)
		equal(t, "after update", got, inTask)

		_, err = tx.GetActionExecution("missing")
		wantErr(t, "get missing", err, store.ErrNotFound)
		wantErr(t, "update missing", tx.UpdateActionExecution(&store.ActionExecution{ID: "missing"}), store.ErrNotFound)
		dup := *adHoc
		wantErr(t, "duplicate id", tx.CreateActionExecution(&dup), store.ErrConflict)
		return nil
	})
	tx(t, s, func(tx store.Tx) error {
		for _, c := range []struct {
			name string
			o    store.ListOpts
			want []*store.ActionExecution
		}{
			{"of the task", store.ListOpts{Filters: map[string]string{"task_execution_id": te.ID}}, []*store.ActionExecution{inTask}},
			{"of the execution", store.ListOpts{Filters: map[string]string{"workflow_execution_id": e.ID}}, []*store.ActionExecution{inTask}},
			{"by name", store.ListOpts{Filters: map[string]string{"name": "std.noop"}}, []*store.ActionExecution{adHoc}},
			{"by state", store.ListOpts{Filters: map[string]string{"state": store.StateError}}, []*store.ActionExecution{inTask}},
		} {
			got, err := tx.ListActionExecutions(c.o)
			wantErr(t, "list "+c.name, err, nil)
			equal(t, "list "+c.name, got, c.want)
		}
		all, err := tx.ListActionExecutions(store.ListOpts{})
		wantErr(t, "list all", err, nil)
		equal(t, "list all", len(all), 2)
		return nil
	})
}

func testOutbox(t *testing.T, s store.Store) {
	var all []*store.OutboxMsg
	for batch := 0; batch < 3; batch++ {
		var msgs []*store.OutboxMsg
		for i := 0; i < 3; i++ {
			msgs = append(msgs, &store.OutboxMsg{
				Subject: "sirocco.action.default.std", MsgID: fmt.Sprintf("m-%d-%d", batch, i),
				Payload: []byte{byte(batch), 0, byte(i), 0xff},
			})
		}
		tx(t, s, func(tx store.Tx) error { return tx.AddOutbox(msgs...) })
		all = append(all, msgs...)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("seq not increasing in insert order: %d then %d", all[i-1].Seq, all[i].Seq)
		}
	}
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.ListOutbox(0)
		wantErr(t, "list all", err, nil)
		equal(t, "list all in order", got, all)
		got, err = tx.ListOutbox(4)
		wantErr(t, "list 4", err, nil)
		equal(t, "first 4", got, all[:4])

		if err := tx.AddOutbox(&store.OutboxMsg{MsgID: "x"}); err == nil {
			t.Error("AddOutbox accepted a message without a subject")
		}

		wantErr(t, "delete first two", tx.DeleteOutbox(all[0].Seq, all[1].Seq), nil)
		wantErr(t, "delete again is no error", tx.DeleteOutbox(all[0].Seq), nil)
		wantErr(t, "delete nothing", tx.DeleteOutbox(), nil)
		return nil
	})
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.ListOutbox(0)
		wantErr(t, "list after delete", err, nil)
		equal(t, "left after delete", got, all[2:])
		// A later message still sorts after every earlier one.
		late := &store.OutboxMsg{Subject: "sirocco.result", MsgID: "late"}
		wantErr(t, "add late", tx.AddOutbox(late), nil)
		if late.Seq <= all[len(all)-1].Seq {
			t.Errorf("late seq %d not after %d", late.Seq, all[len(all)-1].Seq)
		}
		return nil
	})
}

// listFixture creates e1..e7 with ties on created_at and state, so that the
// id tie-breaker and multi-key orders are exercised.
func listFixture(t *testing.T, s store.Store) {
	offsets := []int{0, 1, 1, 2, 3, 3, 4}
	states := []string{store.StateRunning, store.StateSuccess, store.StateRunning, store.StateError,
		store.StateSuccess, store.StateRunning, store.StatePaused}
	tx(t, s, func(tx store.Tx) error {
		for i := range offsets {
			wf := "wf-a"
			if i%2 == 1 {
				wf = "wf-b"
			}
			e := &store.Execution{ID: fmt.Sprintf("e%d", i+1), WorkflowName: wf, State: states[i],
				CreatedAt: t0.Add(time.Duration(offsets[i]) * time.Second)}
			if err := tx.CreateExecution(e); err != nil {
				return err
			}
		}
		return nil
	})
}

func ids(es []*store.Execution) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testListExecutions(t *testing.T, s store.Store) {
	listFixture(t, s)
	running := map[string]string{"state": store.StateRunning}
	cases := []struct {
		name string
		opts store.ListOpts
		want string
	}{
		{"default order", store.ListOpts{}, "e1 e2 e3 e4 e5 e6 e7"},
		{"created_at desc, ties by id", store.ListOpts{SortKeys: []string{"created_at"}, SortDirs: []string{"desc"}}, "e7 e5 e6 e4 e2 e3 e1"},
		{"state asc, created_at desc", store.ListOpts{SortKeys: []string{"state", "created_at"}, SortDirs: []string{"asc", "desc"}}, "e4 e7 e6 e3 e1 e5 e2"},
		{"missing dirs are asc", store.ListOpts{SortKeys: []string{"workflow_name", "id"}, SortDirs: []string{"DESC"}}, "e2 e4 e6 e1 e3 e5 e7"},
		{"filter state", store.ListOpts{Filters: running}, "e1 e3 e6"},
		{"filter state and workflow", store.ListOpts{Filters: map[string]string{"state": store.StateRunning, "workflow_name": "wf-a"}}, "e1 e3"},
		{"filter matches nothing", store.ListOpts{Filters: map[string]string{"workflow_name": "nope"}}, ""},
		{"limit", store.ListOpts{Limit: 3}, "e1 e2 e3"},
		{"marker", store.ListOpts{Marker: "e3"}, "e4 e5 e6 e7"},
		{"marker at a tie", store.ListOpts{Marker: "e2"}, "e3 e4 e5 e6 e7"},
		{"marker and limit", store.ListOpts{Marker: "e3", Limit: 2}, "e4 e5"},
		{"marker desc", store.ListOpts{Marker: "e5", SortKeys: []string{"created_at"}, SortDirs: []string{"desc"}}, "e6 e4 e2 e3 e1"},
		{"marker multi-key", store.ListOpts{Marker: "e3", SortKeys: []string{"state", "created_at"}, SortDirs: []string{"asc", "desc"}}, "e1 e5 e2"},
		{"marker and filter", store.ListOpts{Marker: "e1", Filters: running}, "e3 e6"},
		{"last row as marker", store.ListOpts{Marker: "e7"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx(t, s, func(tx store.Tx) error {
				got, err := tx.ListExecutions(c.opts)
				wantErr(t, "list", err, nil)
				equal(t, "ids", strings.Join(ids(got), " "), c.want)
				return nil
			})
		})
	}

	// Walking every order page by page yields each row once, in order.
	orders := []store.ListOpts{
		{},
		{SortKeys: []string{"created_at"}, SortDirs: []string{"desc"}},
		{SortKeys: []string{"state", "created_at"}, SortDirs: []string{"desc", "asc"}},
		{SortKeys: []string{"workflow_name", "updated_at"}},
	}
	for _, o := range orders {
		t.Run("walk "+strings.Join(o.SortKeys, ",")+" "+strings.Join(o.SortDirs, ","), func(t *testing.T) {
			tx(t, s, func(tx store.Tx) error {
				full, err := tx.ListExecutions(o)
				wantErr(t, "full list", err, nil)
				var walked []*store.Execution
				page := o
				page.Limit = 2
				for i := 0; i < 10; i++ {
					got, err := tx.ListExecutions(page)
					wantErr(t, "page", err, nil)
					if len(got) == 0 {
						break
					}
					walked = append(walked, got...)
					page.Marker = got[len(got)-1].ID
				}
				equal(t, "walked pages", ids(walked), ids(full))
				return nil
			})
		})
	}
}

func testListWorkflowDefs(t *testing.T, s store.Store) {
	tx(t, s, func(tx store.Tx) error {
		for i, n := range []string{"b", "a", "c"} {
			for _, ns := range []string{"", "x"} {
				d := &store.WorkflowDef{Name: n, Namespace: ns, Definition: n, CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
				wantErr(t, "create", tx.CreateWorkflowDef(d), nil)
			}
		}
		return nil
	})
	cases := []struct {
		name string
		opts store.ListOpts
		want string
	}{
		{"default is creation order", store.ListOpts{Filters: map[string]string{"namespace": ""}}, "b a c"},
		{"by name desc", store.ListOpts{SortKeys: []string{"name"}, SortDirs: []string{"desc"}, Filters: map[string]string{"namespace": "x"}}, "c b a"},
		{"by name", store.ListOpts{Filters: map[string]string{"name": "a"}}, "a a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx(t, s, func(tx store.Tx) error {
				got, err := tx.ListWorkflowDefs(c.opts)
				wantErr(t, "list", err, nil)
				var names []string
				for _, d := range got {
					names = append(names, d.Name)
				}
				equal(t, "names", strings.Join(names, " "), c.want)
				return nil
			})
		})
	}
	t.Run("marker", func(t *testing.T) {
		tx(t, s, func(tx store.Tx) error {
			all, err := tx.ListWorkflowDefs(store.ListOpts{SortKeys: []string{"name", "namespace"}})
			wantErr(t, "list", err, nil)
			rest, err := tx.ListWorkflowDefs(store.ListOpts{SortKeys: []string{"name", "namespace"}, Marker: all[1].ID})
			wantErr(t, "list after marker", err, nil)
			equal(t, "rest", rest, all[2:])
			return nil
		})
	})
}

func testListOptsErrors(t *testing.T, s store.Store) {
	listFixture(t, s)
	cases := []struct {
		name string
		opts store.ListOpts
		want error
		says string
	}{
		{"unknown sort key", store.ListOpts{SortKeys: []string{"input"}}, store.ErrBadListOpts, `"input"`},
		{"injection as sort key", store.ListOpts{SortKeys: []string{"id; DROP TABLE executions"}}, store.ErrBadListOpts, "unknown sort key"},
		{"bad direction", store.ListOpts{SortKeys: []string{"id"}, SortDirs: []string{"up"}}, store.ErrBadListOpts, `"up"`},
		{"more dirs than keys", store.ListOpts{SortKeys: []string{"id"}, SortDirs: []string{"asc", "desc"}}, store.ErrBadListOpts, "sort directions"},
		{"duplicate key", store.ListOpts{SortKeys: []string{"id", "id"}}, store.ErrBadListOpts, "twice"},
		{"unknown filter", store.ListOpts{Filters: map[string]string{"colour": "red"}}, store.ErrBadListOpts, `"colour"`},
		{"negative limit", store.ListOpts{Limit: -1}, store.ErrBadListOpts, "negative"},
		{"unknown marker", store.ListOpts{Marker: "nope"}, store.ErrNotFound, `"nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx(t, s, func(tx store.Tx) error {
				_, err := tx.ListExecutions(c.opts)
				wantErr(t, "list", err, c.want)
				if !strings.Contains(err.Error(), c.says) {
					t.Errorf("error %q does not say %q", err, c.says)
				}
				// The transaction stays usable: nothing failed in the database.
				_, err = tx.ListExecutions(store.ListOpts{})
				wantErr(t, "list after error", err, nil)
				return nil
			})
		})
	}
	tx(t, s, func(tx store.Tx) error {
		_, err := tx.ListWorkflowDefs(store.ListOpts{Filters: map[string]string{"state": "x"}})
		wantErr(t, "workflow filter on state", err, store.ErrBadListOpts)
		return nil
	})
}

// empty fails unless the store holds no executions and no outbox messages.
func empty(t *testing.T, s store.Store) {
	t.Helper()
	tx(t, s, func(tx store.Tx) error {
		es, err := tx.ListExecutions(store.ListOpts{})
		wantErr(t, "list executions", err, nil)
		msgs, err := tx.ListOutbox(0)
		wantErr(t, "list outbox", err, nil)
		if len(es) != 0 || len(msgs) != 0 {
			t.Fatalf("rolled-back transaction left %d executions and %d outbox messages", len(es), len(msgs))
		}
		return nil
	})
}

var errStop = errors.New("engine says stop")

func testRollbackOnError(t *testing.T, s store.Store) {
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		e := &store.Execution{WorkflowName: "wf", State: store.StateRunning}
		if err := tx.CreateExecution(e); err != nil {
			return err
		}
		if err := tx.CreateTaskExecution(&store.TaskExecution{ExecutionID: e.ID, Name: "t", State: store.StateRunning}); err != nil {
			return err
		}
		if err := tx.AddOutbox(&store.OutboxMsg{Subject: "s", MsgID: "m"}); err != nil {
			return err
		}
		return fmt.Errorf("deciding: %w", errStop)
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("InTx returned %v, want fn's own error", err)
	}
	empty(t, s)
}

func testRollbackOnPanic(t *testing.T, s store.Store) {
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the panic to pass through", r)
			}
		}()
		_ = s.InTx(context.Background(), func(tx store.Tx) error {
			if err := tx.CreateExecution(&store.Execution{WorkflowName: "wf", State: store.StateRunning}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	// The store is still usable (the connection was given back) and empty.
	empty(t, s)
}

func testFailedStatementFailsTx(t *testing.T, s store.Store) {
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		e := &store.Execution{WorkflowName: "wf", State: store.StateRunning}
		if err := tx.CreateExecution(e); err != nil {
			return err
		}
		// fn ignores the failure; the store must not commit half a change.
		_ = tx.CreateTaskExecution(&store.TaskExecution{ExecutionID: "missing", Name: "t", State: store.StateRunning})
		if _, err := tx.GetExecution(e.ID, false); err == nil {
			t.Error("a call after a failed statement succeeded")
		}
		return nil
	})
	wantErr(t, "InTx", err, store.ErrNotFound)
	empty(t, s)
}

// testConcurrentUpdates runs many read-modify-write transactions on one
// execution row at once, as engines applying results do. Every one must
// succeed (no deadlock or busy error) and none may be lost.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	const workers, rounds = 16, 5
	e := &store.Execution{WorkflowName: "wf", State: store.StateRunning, Context: []byte(`{"n":0}`)}
	tx(t, s, func(tx store.Tx) error { return tx.CreateExecution(e) })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				errs <- s.InTx(ctx, func(tx store.Tx) error {
					cur, err := tx.GetExecution(e.ID, true)
					if err != nil {
						return err
					}
					var c struct{ N int }
					if err := json.Unmarshal(cur.Context, &c); err != nil {
						return err
					}
					c.N++
					cur.Context, _ = json.Marshal(map[string]int{"n": c.N})
					if err := tx.UpdateExecution(cur); err != nil {
						return err
					}
					return tx.AddOutbox(&store.OutboxMsg{Subject: "sirocco.result", MsgID: fmt.Sprint(c.N)})
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent InTx: %v", err)
		}
	}
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.GetExecution(e.ID, false)
		wantErr(t, "get", err, nil)
		equal(t, "counter", string(got.Context), fmt.Sprintf(`{"n":%d}`, workers*rounds))
		// Serialised transactions add their messages in counter order.
		msgs, err := tx.ListOutbox(0)
		wantErr(t, "outbox", err, nil)
		equal(t, "outbox length", len(msgs), workers*rounds)
		for i, m := range msgs {
			equal(t, "outbox order", m.MsgID, fmt.Sprint(i+1))
		}
		return nil
	})
}

func testTimestampsUTC(t *testing.T, s store.Store) {
	local := time.Date(2026, 6, 30, 23, 59, 59, 123456789, time.FixedZone("UTC+5", 5*3600))
	e := &store.Execution{WorkflowName: "wf", State: store.StateIdle, CreatedAt: local}
	tx(t, s, func(tx store.Tx) error { return tx.CreateExecution(e) })
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.GetExecution(e.ID, false)
		wantErr(t, "get", err, nil)
		if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
			t.Errorf("timestamps not in UTC: %v, %v", got.CreatedAt, got.UpdatedAt)
		}
		want := local.Truncate(time.Microsecond)
		if !got.CreatedAt.Equal(want) {
			t.Errorf("created_at %v, want %v", got.CreatedAt, want)
		}
		equal(t, "caller's struct matches the stored row", got.CreatedAt, e.CreatedAt)
		return nil
	})
}

func testCancelledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := s.InTx(ctx, func(store.Tx) error { called = true; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("InTx with a cancelled context: %v, want context.Canceled", err)
	}
	if called {
		t.Error("fn ran although the context was cancelled")
	}
	// The store still works afterwards.
	tx(t, s, func(tx store.Tx) error {
		return tx.CreateExecution(&store.Execution{WorkflowName: "wf", State: store.StateIdle})
	})
}

func testTimers(t *testing.T, s store.Store) {
	tx(t, s, func(tx store.Tx) error {
		_, ok, err := tx.NextTimerAt()
		wantErr(t, "next of none", err, nil)
		equal(t, "no timers", ok, false)
		return nil
	})
	// Added out of order; fire times tie for b and c, so id breaks the tie.
	ts := []*store.Timer{
		{Key: "k/c", Kind: "cron", Ref: "t1", FireAt: t0.Add(2 * time.Second), Payload: []byte(`{"n":3}`)},
		{Key: "k/a", Kind: "retry", Ref: "task-1", FireAt: t0},
		{Key: "k/b", Kind: "cron", Ref: "t1", FireAt: t0.Add(2 * time.Second)},
		{Key: "k/late", Kind: "cron", FireAt: t0.Add(time.Hour)},
	}
	tx(t, s, func(tx store.Tx) error {
		for _, tm := range ts {
			wantErr(t, "add "+tm.Key, tx.AddTimer(tm), nil)
			if tm.ID == 0 {
				t.Fatalf("AddTimer did not set the id of %s", tm.Key)
			}
		}
		// The same key again is a conflict that leaves the transaction usable.
		dup := &store.Timer{Key: "k/a", Kind: "retry", FireAt: t0.Add(-time.Hour)}
		wantErr(t, "duplicate key", tx.AddTimer(dup), store.ErrConflict)
		wantFailure(t, "missing kind", tx.AddTimer(&store.Timer{Key: "x", FireAt: t0}))
		return nil
	})
	tx(t, s, func(tx store.Tx) error {
		at, ok, err := tx.NextTimerAt()
		wantErr(t, "next", err, nil)
		if !ok || !at.Equal(t0) {
			t.Fatalf("NextTimerAt = %v %v, want %v (the duplicate must not have replaced k/a)", at, ok, t0)
		}
		none, err := tx.ClaimTimers(t0.Add(-time.Second), 10)
		wantErr(t, "claim before due", err, nil)
		equal(t, "claimed before due", len(none), 0)
		got, err := tx.ClaimTimers(t0.Add(2*time.Second), 2)
		wantErr(t, "claim 2", err, nil)
		equal(t, "oldest first, limited", timerKeys(got), []string{"k/a", "k/c"})
		equal(t, "claimed row", got[1], ts[0])
		got, err = tx.ClaimTimers(t0.Add(2*time.Second), 10)
		wantErr(t, "claim all due", err, nil)
		equal(t, "all due", timerKeys(got), []string{"k/a", "k/c", "k/b"})
		_, err = tx.ClaimTimers(t0, 0)
		wantFailure(t, "limit 0", err)
		return nil
	})
	// A claim that is rolled back leaves the timers in place.
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		got, err := tx.ClaimTimers(t0, 10)
		if err != nil {
			return err
		}
		for _, tm := range got {
			if err := tx.DeleteTimer(tm.ID); err != nil {
				return err
			}
		}
		return errStop
	})
	wantErr(t, "rolled back claim", err, errStop)
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.ClaimTimers(t0.Add(2*time.Second), 10)
		wantErr(t, "claim after rollback", err, nil)
		equal(t, "still due after rollback", len(got), 3)
		wantErr(t, "delete", tx.DeleteTimer(got[0].ID), nil)
		wantErr(t, "delete again", tx.DeleteTimer(got[0].ID), store.ErrNotFound)
		wantErr(t, "delete by key", tx.DeleteTimerByKey("k/b"), nil)
		wantErr(t, "delete by key again", tx.DeleteTimerByKey("k/b"), store.ErrNotFound)
		// A deleted key may be used again.
		wantErr(t, "re-add k/a", tx.AddTimer(&store.Timer{Key: "k/a", Kind: "retry", FireAt: t0.Add(time.Minute)}), nil)
		return nil
	})
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.ClaimTimers(t0.Add(24*time.Hour), 10)
		wantErr(t, "claim rest", err, nil)
		equal(t, "left", timerKeys(got), []string{"k/c", "k/a", "k/late"})
		at, ok, err := tx.NextTimerAt()
		wantErr(t, "next", err, nil)
		if !ok || !at.Equal(t0.Add(2*time.Second)) {
			t.Fatalf("NextTimerAt = %v %v, want %v", at, ok, t0.Add(2*time.Second))
		}
		return nil
	})
}

// wantFailure fails unless err is an error (of any kind).
func wantFailure(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
}

func timerKeys(ts []*store.Timer) []string {
	out := make([]string, len(ts))
	for i, tm := range ts {
		out[i] = tm.Key
	}
	return out
}

// testTimerClaimsDisjoint claims the same due timers from two transactions
// at once, as two engines' schedulers do. Transaction A claims half and
// holds them; B then claims everything due. Where transactions run
// concurrently (PostgreSQL) B must skip A's locked rows without waiting
// (FOR UPDATE SKIP LOCKED); where they are serialised (SQLite) B runs
// after A's commit. Either way every timer is claimed exactly once.
func testTimerClaimsDisjoint(t *testing.T, s store.Store) {
	const n = 10
	tx(t, s, func(tx store.Tx) error {
		for i := 0; i < n; i++ {
			if err := tx.AddTimer(&store.Timer{Key: fmt.Sprintf("t%02d", i), Kind: "cron", FireAt: t0.Add(time.Duration(i) * time.Millisecond)}); err != nil {
				return err
			}
		}
		return nil
	})
	claimAndDelete := func(tx store.Tx, limit int) ([]string, error) {
		got, err := tx.ClaimTimers(t0.Add(time.Second), limit)
		if err != nil {
			return nil, err
		}
		for _, tm := range got {
			if err := tx.DeleteTimer(tm.ID); err != nil {
				return nil, err
			}
		}
		return timerKeys(got), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	aHolds := make(chan struct{})
	bClaimed := make(chan struct{})
	var aKeys, bKeys []string
	var overlapped bool
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs <- s.InTx(ctx, func(tx store.Tx) error {
			var err error
			if aKeys, err = claimAndDelete(tx, n/2); err != nil {
				return err
			}
			close(aHolds)
			select {
			case <-bClaimed:
				overlapped = true
			case <-time.After(time.Second):
				// B is waiting for this transaction: the store serialises.
			}
			return nil
		})
	}()
	go func() {
		defer wg.Done()
		<-aHolds
		errs <- s.InTx(ctx, func(tx store.Tx) error {
			var err error
			bKeys, err = claimAndDelete(tx, n)
			close(bClaimed)
			return err
		})
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		wantErr(t, "concurrent claim", err, nil)
	}
	t.Logf("A claimed %v, B claimed %v, B claimed while A held its timers: %v", aKeys, bKeys, overlapped)
	equal(t, "A's share", len(aKeys), n/2)
	equal(t, "B's share", len(bKeys), n-n/2)
	seen := map[string]int{}
	for _, k := range append(append([]string{}, aKeys...), bKeys...) {
		seen[k]++
	}
	for i := 0; i < n; i++ {
		if k := fmt.Sprintf("t%02d", i); seen[k] != 1 {
			t.Errorf("timer %s claimed %d times, want once", k, seen[k])
		}
	}
	tx(t, s, func(tx store.Tx) error {
		_, ok, err := tx.NextTimerAt()
		wantErr(t, "next", err, nil)
		equal(t, "no timer left", ok, false)
		return nil
	})
}

func testCronTriggers(t *testing.T, s store.Store) {
	three := 3
	c := &store.CronTrigger{
		Name: "nightly", Pattern: "0 0 * * *", WorkflowName: "wf", WorkflowID: "wf-id",
		WorkflowInput: []byte(`{"name":"x"}`), WorkflowParams: []byte(`{"env":{"k":1}}`),
		FirstExecutionTime: t0.Add(time.Hour), NextExecutionTime: t0.Add(time.Hour), RemainingExecutions: &three,
	}
	plain := &store.CronTrigger{Name: "plain", Pattern: "* * * * *", WorkflowName: "wf", WorkflowID: "wf-id", NextExecutionTime: t0}
	tx(t, s, func(tx store.Tx) error {
		wantErr(t, "create", tx.CreateCronTrigger(c), nil)
		wantErr(t, "create plain", tx.CreateCronTrigger(plain), nil)
		wantErr(t, "duplicate name", tx.CreateCronTrigger(&store.CronTrigger{Name: "nightly", Pattern: "x", NextExecutionTime: t0}), store.ErrConflict)
		wantFailure(t, "no next time", tx.CreateCronTrigger(&store.CronTrigger{Name: "n", Pattern: "x"}))
		return nil
	})
	if c.ID == "" || c.CreatedAt.IsZero() || !c.UpdatedAt.IsZero() || c.Scope != "private" {
		t.Fatalf("create did not fill id, created_at, scope or set updated_at: %+v", c)
	}
	tx(t, s, func(tx store.Tx) error {
		for _, ident := range []string{"nightly", c.ID} {
			for _, lock := range []bool{false, true} {
				got, err := tx.GetCronTrigger(ident, lock)
				wantErr(t, "get "+ident, err, nil)
				equal(t, fmt.Sprintf("get %s lock=%v", ident, lock), got, c)
			}
		}
		got, err := tx.GetCronTrigger("plain", false)
		wantErr(t, "get plain", err, nil)
		if got.RemainingExecutions != nil || !got.FirstExecutionTime.IsZero() || got.WorkflowInput != nil {
			t.Fatalf("unset fields read back set: %+v", got)
		}
		_, err = tx.GetCronTrigger("nope", false)
		wantErr(t, "get missing", err, store.ErrNotFound)
		if err != nil && !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("not-found error %q does not name the trigger", err)
		}
		return nil
	})
	two := 2
	c.RemainingExecutions = &two
	c.NextExecutionTime = t0.Add(25 * time.Hour)
	tx(t, s, func(tx store.Tx) error { return tx.UpdateCronTrigger(c) })
	if c.UpdatedAt.IsZero() {
		t.Fatal("update did not set updated_at")
	}
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.GetCronTrigger(c.ID, false)
		wantErr(t, "get after update", err, nil)
		equal(t, "after update", got, c)
		wantErr(t, "update missing", tx.UpdateCronTrigger(&store.CronTrigger{ID: "ghost", Name: "ghost", NextExecutionTime: t0}), store.ErrNotFound)
		wantErr(t, "delete by name", tx.DeleteCronTrigger("nightly"), nil)
		wantErr(t, "delete again", tx.DeleteCronTrigger("nightly"), store.ErrNotFound)
		wantErr(t, "delete by id", tx.DeleteCronTrigger(plain.ID), nil)
		left, err := tx.ListCronTriggers(store.ListOpts{})
		wantErr(t, "list", err, nil)
		equal(t, "left after deletes", len(left), 0)
		return nil
	})
}

func testListCronTriggers(t *testing.T, s store.Store) {
	names := []string{"d", "b", "e", "a", "c"}
	tx(t, s, func(tx store.Tx) error {
		for i, n := range names {
			// b and e share created_at, so id breaks the tie.
			created := t0.Add(time.Duration(i) * time.Second)
			if n == "e" {
				created = t0.Add(time.Second)
			}
			if err := tx.CreateCronTrigger(&store.CronTrigger{
				ID: "id-" + n, Name: n, Pattern: "* * * * *", WorkflowName: "wf" + fmt.Sprint(i%2), WorkflowID: "x",
				NextExecutionTime: t0.Add(time.Duration(10-i) * time.Minute), CreatedAt: created,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	page := func(o store.ListOpts) []string {
		t.Helper()
		var out []string
		tx(t, s, func(tx store.Tx) error {
			got, err := tx.ListCronTriggers(o)
			if err != nil {
				return err
			}
			for _, c := range got {
				out = append(out, c.Name)
			}
			return nil
		})
		return out
	}
	equal(t, "default order (created_at, id)", page(store.ListOpts{}), []string{"d", "b", "e", "a", "c"})
	equal(t, "by name desc", page(store.ListOpts{SortKeys: []string{"name"}, SortDirs: []string{"desc"}}), []string{"e", "d", "c", "b", "a"})
	equal(t, "by next_execution_time", page(store.ListOpts{SortKeys: []string{"next_execution_time"}}), []string{"c", "a", "e", "b", "d"})
	equal(t, "page 1", page(store.ListOpts{Limit: 2}), []string{"d", "b"})
	equal(t, "page 2", page(store.ListOpts{Limit: 2, Marker: "id-b"}), []string{"e", "a"})
	equal(t, "page 3", page(store.ListOpts{Limit: 2, Marker: "id-a"}), []string{"c"})
	equal(t, "filter", page(store.ListOpts{Filters: map[string]string{"workflow_name": "wf1"}}), []string{"b", "a"})
	tx(t, s, func(tx store.Tx) error {
		_, err := tx.ListCronTriggers(store.ListOpts{SortKeys: []string{"updated_at"}})
		wantErr(t, "nullable sort key", err, store.ErrBadListOpts)
		_, err = tx.ListCronTriggers(store.ListOpts{Marker: "id-missing"})
		wantErr(t, "missing marker", err, store.ErrNotFound)
		return nil
	})
}

// testTaskActionExecutions covers the runs of one with-items task: listed
// in item order whatever order they were created in, and replaced (all,
// or only the failed) before a retry or rerun.
func testTaskActionExecutions(t *testing.T, s store.Store) {
	e := &store.Execution{WorkflowName: "wf", State: store.StateRunning}
	te := &store.TaskExecution{Name: "t", State: store.StateRunning}
	other := &store.TaskExecution{Name: "u", State: store.StateRunning}
	tx(t, s, func(tx store.Tx) error {
		wantErr(t, "create execution", tx.CreateExecution(e), nil)
		te.ExecutionID, other.ExecutionID = e.ID, e.ID
		wantErr(t, "create other task", tx.CreateTaskExecution(other), nil)
		return tx.CreateTaskExecution(te)
	})
	states := []string{store.StateSuccess, store.StateError, store.StateSuccess, store.StateCancel}
	tx(t, s, func(tx store.Tx) error {
		for _, i := range []int{2, 0, 3, 1} {
			a := &store.ActionExecution{TaskExecutionID: te.ID, ExecutionID: e.ID, Name: "std.echo", State: states[i], ItemIndex: i}
			wantErr(t, "create item", tx.CreateActionExecution(a), nil)
		}
		return tx.CreateActionExecution(&store.ActionExecution{TaskExecutionID: other.ID, ExecutionID: e.ID, Name: "std.noop", State: store.StateError})
	})
	list := func(what string) (idx []int, replaced []bool) {
		tx(t, s, func(tx store.Tx) error {
			got, err := tx.ListTaskActionExecutions(te.ID)
			wantErr(t, what, err, nil)
			for _, a := range got {
				idx, replaced = append(idx, a.ItemIndex), append(replaced, a.Replaced)
			}
			return nil
		})
		return idx, replaced
	}
	idx, replaced := list("list")
	equal(t, "item order", idx, []int{0, 1, 2, 3})
	equal(t, "none replaced", replaced, []bool{false, false, false, false})
	tx(t, s, func(tx store.Tx) error { return tx.ReplaceActionExecutions(te.ID, true) })
	_, replaced = list("after replacing failed")
	equal(t, "failed replaced", replaced, []bool{false, true, false, true})
	tx(t, s, func(tx store.Tx) error { return tx.ReplaceActionExecutions(te.ID, false) })
	_, replaced = list("after replacing all")
	equal(t, "all replaced", replaced, []bool{true, true, true, true})
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.ListTaskActionExecutions(other.ID)
		wantErr(t, "other task", err, nil)
		equal(t, "other task untouched", len(got) == 1 && !got[0].Replaced, true)
		return nil
	})
}
