package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/engine/controller"
	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// The execution cache. Every result, timer and API call on an execution
// loads its state, and decoding every task row of the execution each time
// made a long chain cost more per task the longer it ran (a chain of 1,000
// spent 10 ms of CPU per task, most of it decoding JSON). The engine keeps
// the decoded tasks of recently active executions instead and reads only
// each task's id and rev, which every write of the row increases: a copy
// with the rev the table holds is what the table holds, whichever engine
// wrote it, and a task whose rev differs is read again. The execution row
// itself is read under its lock every time; its JSON columns (the context,
// which holds the whole workflow spec, the input and the params) are
// decoded again only when their bytes differ from those decoded before.
//
// A cached execution belongs to one transaction at a time: loading takes
// it out of the cache (the execution's row lock keeps a second transaction
// from loading it meanwhile), and only a commit puts it back, built from
// the rows the transaction wrote. A transaction that fails puts nothing
// back, so what the controller changed in memory never outlives it.

// execCacheSize bounds the executions kept: enough for the thousands
// running at once that a busy engine applies results to.
const execCacheSize = 2048

// execCacheBytes bounds what the kept executions weigh (cachedExec.weight):
// a count alone lets a few executions with large results or contexts hold
// any amount of memory. Measured on waiting executions of a six-task
// workflow, the cache held 2.3 bytes of heap per byte of weight, so this
// is about 75 MiB; 2,048 such executions weigh 8 MiB.
const execCacheBytes = 32 << 20

// cachedExec is what is kept of one execution.
type cachedExec struct {
	view  *execView   // nil: decode the row
	tasks cachedTasks // nil: decode every task row
	// size is the weight it had when it went into the cache, which its
	// eviction takes off the total.
	size int
}

// weight is the number of JSON bytes a cached execution was decoded from,
// and the bytes it keeps to compare with the row: the measure of its heap
// that the cache's budget counts.
func (c *cachedExec) weight() int {
	n := 0
	if v := c.view; v != nil {
		n += 2 * (len(v.context) + len(v.inputJSON) + len(v.paramsJSON))
	}
	for _, t := range c.tasks {
		n += t.size
	}
	return n
}

// execView is the decoded JSON of an execution row, and the bytes it was
// decoded from.
type execView struct {
	context, inputJSON, paramsJSON []byte

	vars, globals, input, params map[string]any
	backlog                      []controller.Backlogged
	parent                       *controller.ParentRun
	// spec is the context's workflow spec, still encoded; load decodes
	// it once into the spec cache and drops it.
	spec json.RawMessage
}

// decodedFrom reports whether the view was decoded from ex's columns as
// they are now.
func (v *execView) decodedFrom(ex *store.Execution) bool {
	return bytes.Equal(v.context, ex.Context) && bytes.Equal(v.inputJSON, ex.Input) && bytes.Equal(v.paramsJSON, ex.Params)
}

// decodeExec decodes the JSON columns of an execution row.
func decodeExec(ex *store.Execution) (*execView, error) {
	var raw struct {
		Spec    json.RawMessage         `json:"spec"`
		Vars    json.RawMessage         `json:"vars"`
		Globals json.RawMessage         `json:"globals"`
		Backlog []controller.Backlogged `json:"backlog"`
		Parent  *controller.ParentRun   `json:"parent"`
	}
	if len(ex.Context) > 0 {
		if err := json.Unmarshal(ex.Context, &raw); err != nil {
			return nil, fmt.Errorf("execution %s: context: %w", ex.ID, err)
		}
	}
	v := &execView{context: ex.Context, inputJSON: ex.Input, paramsJSON: ex.Params,
		backlog: raw.Backlog, parent: raw.Parent, spec: raw.Spec}
	var err error
	if v.vars, err = objectFromJSON(raw.Vars); err != nil {
		return nil, fmt.Errorf("execution %s: vars: %w", ex.ID, err)
	}
	if v.globals, err = objectFromJSON(raw.Globals); err != nil {
		return nil, fmt.Errorf("execution %s: globals: %w", ex.ID, err)
	}
	if v.input, err = objectFromJSON(ex.Input); err != nil {
		return nil, fmt.Errorf("execution %s: input: %w", ex.ID, err)
	}
	if v.params, err = objectFromJSON(ex.Params); err != nil {
		return nil, fmt.Errorf("execution %s: params: %w", ex.ID, err)
	}
	return v, nil
}

// checkCachedView compares a cached view with the row decoded afresh.
func checkCachedView(ex *store.Execution, v *execView) error {
	fresh, err := decodeExec(ex)
	if err != nil {
		return err
	}
	fresh.spec = v.spec
	if !reflect.DeepEqual(fresh, v) {
		return fmt.Errorf("execution cache: execution %s differs from its row:\ncached: %+v\nrow:    %+v", ex.ID, *v, *fresh)
	}
	return nil
}

// cachedTask is a decoded task row and the rev it was decoded from.
type cachedTask struct {
	rev  int64
	task *controller.Task
	size int // the JSON bytes of the row
}

// newCachedTask decodes a task row for the cache.
func newCachedTask(row *store.TaskExecution) (cachedTask, error) {
	t, err := taskFromRow(row)
	if err != nil {
		return cachedTask{}, err
	}
	size := len(row.Runtime) + len(row.Published) + len(row.Result) + len(row.StateInfo)
	return cachedTask{rev: row.Rev, task: t, size: size}, nil
}

// cachedTasks are the decoded tasks of one execution, by id.
type cachedTasks map[string]cachedTask

// execCache holds cachedExecs by execution id, at most size of them and at
// most budget bytes by their weight, dropping the least recently used.
type execCache struct {
	mu     sync.Mutex
	lru    *lru.Cache[string, *cachedExec]
	bytes  int // the weight of what is kept
	budget int
}

func newExecCache(size, budget int) (*execCache, error) {
	c := &execCache{budget: budget}
	var err error
	// The callback runs for evictions and removals alike, always under mu.
	c.lru, err = lru.NewWithEvict(size, func(_ string, x *cachedExec) { c.bytes -= x.size })
	if err != nil {
		return nil, err
	}
	return c, nil
}

// take removes an execution from the cache and returns it (nil if it is
// not there).
func (c *execCache) take(executionID string) *cachedExec {
	c.mu.Lock()
	defer c.mu.Unlock()
	x, ok := c.lru.Peek(executionID)
	if ok {
		c.lru.Remove(executionID)
	}
	return x
}

// put keeps x as the execution's, unless it alone weighs more than the
// budget, and drops the least recently used executions until the cache is
// within it.
func (c *execCache) put(executionID string, x *cachedExec) {
	x.size = x.weight()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(executionID) // Add would replace it without the callback
	if x.size > c.budget {
		return
	}
	c.lru.Add(executionID, x)
	c.bytes += x.size
	for c.bytes > c.budget {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			c.bytes = 0 // cannot happen while every removal calls back
			break
		}
	}
}

func (c *execCache) forget(executionID string) {
	c.mu.Lock()
	c.lru.Remove(executionID)
	c.mu.Unlock()
}

// forgetExec drops an execution that ended from the cache and from what
// tx would put back.
func (e *Engine) forgetExec(tx store.Tx, executionID string) {
	if rec, _ := tx.(*recordingTx); rec != nil {
		rec.ended(executionID)
	}
	e.execs.forget(executionID)
}

// contextChanged drops the decoded context of an execution whose context
// tx has just written.
func (e *Engine) contextChanged(tx store.Tx, executionID string) {
	if rec, _ := tx.(*recordingTx); rec != nil {
		if c := rec.execs[executionID]; c != nil {
			c.view = nil
		}
	}
}

// takeCached gives what is kept of an execution for load to use and fill
// in. Inside a transaction of the engine's store it is the transaction's
// until it ends (recordingTx.keep), taken from the transaction's own
// loads first; elsewhere nothing is kept and it comes back empty.
func (e *Engine) takeCached(tx store.Tx, executionID string) *cachedExec {
	rec, _ := tx.(*recordingTx)
	if rec == nil {
		return &cachedExec{}
	}
	c := rec.take(executionID)
	if c == nil {
		c = e.execs.take(executionID)
	}
	if c == nil {
		c = &cachedExec{}
	}
	rec.keep(executionID, c)
	return c
}

// loadTasks gives the tasks of an execution in the order they were
// created, from c where their rev matches the table and from the table
// otherwise, and leaves them in c.
func (e *Engine) loadTasks(tx store.Tx, executionID string, c *cachedExec) ([]*controller.Task, error) {
	var revs []store.TaskRev
	if c.tasks != nil {
		var err error
		if revs, err = tx.ListTaskRevs(executionID); err != nil {
			return nil, err
		}
		if staleTasks(c.tasks, revs) > max(4, len(revs)/2) {
			c.tasks = nil // one listing reads them faster than a query each
		}
	}
	if c.tasks == nil {
		tasks, kept, err := decodeAllTasks(tx, executionID)
		if err != nil {
			return nil, err
		}
		c.tasks = kept
		return tasks, nil
	}
	kept := make(cachedTasks, len(revs))
	tasks := make([]*controller.Task, 0, len(revs))
	fromCache := false
	for _, r := range revs {
		ct, ok := c.tasks[r.ID]
		if ok && ct.rev == r.Rev {
			fromCache = true
		} else {
			row, err := tx.GetTaskExecution(r.ID)
			if err != nil {
				return nil, err
			}
			if ct, err = newCachedTask(row); err != nil {
				return nil, err
			}
		}
		kept[r.ID] = ct
		tasks = append(tasks, ct.task)
	}
	if fromCache && e.checkExecCache {
		if err := checkCachedTasks(tx, executionID, tasks); err != nil {
			return nil, err
		}
	}
	c.tasks = kept
	return tasks, nil
}

// staleTasks counts the tasks of revs that cached lacks at their rev.
func staleTasks(cached cachedTasks, revs []store.TaskRev) int {
	n := 0
	for _, r := range revs {
		if ct, ok := cached[r.ID]; !ok || ct.rev != r.Rev {
			n++
		}
	}
	return n
}

// decodeAllTasks reads and decodes every task of an execution.
func decodeAllTasks(tx store.Tx, executionID string) ([]*controller.Task, cachedTasks, error) {
	rows, err := tx.ListTaskExecutions(executionID)
	if err != nil {
		return nil, nil, err
	}
	tasks := make([]*controller.Task, 0, len(rows))
	kept := make(cachedTasks, len(rows))
	for _, r := range rows {
		ct, err := newCachedTask(r)
		if err != nil {
			return nil, nil, err
		}
		tasks = append(tasks, ct.task)
		kept[r.ID] = ct
	}
	return tasks, kept, nil
}

// wroteTask records, in a transaction of the engine's store, the row just
// written for a task of the execution: the cache gets the task decoded
// from it, as a later load from the table would see it, not the
// controller's object, which may hold values JSON does not keep (a float
// that is whole, say).
func wroteTask(tx store.Tx, row *store.TaskExecution) error {
	rec, _ := tx.(*recordingTx)
	if rec == nil {
		return nil
	}
	ct, err := newCachedTask(row)
	if err != nil {
		return err
	}
	rec.wrote(row.ExecutionID, ct)
	return nil
}

// checkCachedTasks compares tasks loaded partly from the cache with the
// table's rows decoded afresh: a difference means the controller changed a
// task in memory without writing it. It runs when SIROCCO_CHECK_EXEC_CACHE
// is set, as the tests set it.
func checkCachedTasks(tx store.Tx, executionID string, tasks []*controller.Task) error {
	fresh, _, err := decodeAllTasks(tx, executionID)
	if err != nil {
		return err
	}
	if len(fresh) != len(tasks) {
		return fmt.Errorf("execution cache: execution %s has %d tasks in the table, %d loaded", executionID, len(fresh), len(tasks))
	}
	for i, t := range fresh {
		if !reflect.DeepEqual(t, tasks[i]) {
			return fmt.Errorf("execution cache: task %s (%s) of execution %s differs from its row:\ncached: %+v\nrow:    %+v",
				t.ID, t.Name, executionID, *tasks[i], *t)
		}
	}
	return nil
}

// taskFromRow decodes a task row into the controller's task. Numbers are
// decoded into the expression value model (int64 where whole).
func taskFromRow(r *store.TaskExecution) (*controller.Task, error) {
	t := &controller.Task{ID: r.ID, Name: r.Name, State: r.State, StateInfo: r.StateInfo, Processed: r.Processed,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	var rt struct {
		InContext json.RawMessage `json:"in_context"`
		Kept      json.RawMessage `json:"kept"`
		taskBookkeeping
	}
	if len(r.Runtime) > 0 {
		if err := json.Unmarshal(r.Runtime, &rt); err != nil {
			return nil, fmt.Errorf("task execution %s: runtime: %w", r.ID, err)
		}
	}
	rt.taskBookkeeping.apply(t)
	var err error
	if t.InContext, err = objectFromJSON(rt.InContext); err != nil {
		return nil, fmt.Errorf("task execution %s: in_context: %w", r.ID, err)
	}
	if len(rt.Kept) > 0 {
		kept, err := expr.FromJSON(rt.Kept)
		if err != nil {
			return nil, fmt.Errorf("task execution %s: kept: %w", r.ID, err)
		}
		t.Kept, _ = kept.([]any)
	}
	if t.Published, err = objectFromJSON(r.Published); err != nil {
		return nil, fmt.Errorf("task execution %s: published: %w", r.ID, err)
	}
	if len(r.Result) > 0 {
		if t.Result, err = expr.FromJSON(r.Result); err != nil {
			return nil, fmt.Errorf("task execution %s: result: %w", r.ID, err)
		}
	}
	return t, nil
}
