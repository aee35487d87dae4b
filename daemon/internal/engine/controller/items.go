package controller

import (
	"errors"
	"fmt"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// startItems runs the items of a with-items task, as many at once as its
// concurrency allows. The first time, it evaluates the lists (all of the
// same length, zipped) and the concurrency; a task with no items succeeds
// at once with an empty list.
func (c *Controller) startItems(s *State, d *Decision, t *Task, spec *lang.Task) {
	env := c.viewEnv(s, t, s.taskContext(t, nil))
	lists, err := c.itemLists(spec, env)
	if err == nil && c.Lists != nil {
		c.Lists.Add(listKey(s, t), lists)
	}
	if err != nil {
		c.forceFail(s, d, t, runMsg(s, spec, err.Error()))
		return
	}
	count := 0
	for _, l := range lists {
		count = len(l)
	}
	if t.Items == nil {
		conc, err := c.seconds(policiesOf(s.Spec, spec).Concurrency, env)
		if err != nil {
			c.forceFail(s, d, t, runMsg(s, spec, exprMsg(err, fmt.Sprintf("Failed to evaluate the concurrency of task %q", spec.Name))))
			return
		}
		t.Items = &Items{Count: count, Concurrency: int(conc)}
	}
	t.Items.Count = count
	if count == 0 {
		c.finishTask(s, d, t, spec, Success, "", []any{})
		return
	}
	c.moreItems(s, d, t, spec, lists)
}

// moreItems starts items until the task's concurrency is reached: first
// those to run again, then the next ones never started.
func (c *Controller) moreItems(s *State, d *Decision, t *Task, spec *lang.Task, lists map[string][]any) {
	it := t.Items
	for it.Concurrency <= 0 || it.Running < it.Concurrency {
		var i int
		switch {
		case len(it.Redo) > 0:
			i, it.Redo = it.Redo[0], it.Redo[1:]
		case it.Next < it.Count:
			i = it.Next
			it.Next++
		default:
			return
		}
		// The task's own context wins over the item's variables, as
		// Mistral merges them (merge_dicts(item, ctx)).
		data := s.baseData()
		for name, l := range lists {
			if i >= len(l) {
				// The lists are evaluated again for each batch, as in
				// Mistral; one that shrank cannot serve the items left.
				c.forceFail(s, d, t, runMsg(s, spec, fmt.Sprintf("with-items of task %q: the list %s now has %d items, fewer than the %d the task started with", spec.Name, name, len(l), it.Count)))
				return
			}
			data[name] = l[i]
		}
		for k, v := range t.InContext {
			data[k] = v
		}
		if spec.Workflow != "" {
			w, ok := c.childFor(s, d, t, spec, data)
			if !ok {
				return
			}
			w.Parent.Index = i
			d.Workflows = append(d.Workflows, w)
		} else {
			a, ok := c.actionFor(s, d, t, spec, data)
			if !ok {
				return
			}
			a.Index = i
			d.Actions = append(d.Actions, a)
		}
		it.Running++
		c.touch(d, t)
	}
}

// cachedItemLists are a running task's lists, evaluated when it started
// them (see Controller.Lists) or now.
func (c *Controller) cachedItemLists(s *State, t *Task, spec *lang.Task) (map[string][]any, error) {
	key := listKey(s, t)
	if c.Lists != nil {
		if lists, ok := c.Lists.Get(key); ok {
			return lists, nil
		}
	}
	lists, err := c.itemLists(spec, c.viewEnv(s, t, s.taskContext(t, nil)))
	if err == nil && c.Lists != nil {
		c.Lists.Add(key, lists)
	}
	return lists, err
}

// listKey names one run of a task's items: a retry or rerun evaluates the
// lists anew.
func listKey(s *State, t *Task) string {
	return fmt.Sprintf("%s/%s/%d/%d", s.Exec.ID, t.ID, t.Epoch, t.RetryNo)
}

// itemLists evaluates the with-items clauses into lists by variable name.
// As Mistral's _get_with_items_values, it evaluates every clause first,
// then turns each value into a list; its messages print, with Python's
// str(), the lists made so far when a value is not iterable and every
// value as evaluated when the lengths differ.
func (c *Controller) itemLists(spec *lang.Task, env *expr.Env) (map[string][]any, error) {
	values := yaql.NewOrderedDict()
	for _, wi := range spec.WithItems {
		var v any
		var err error
		if wi.Expr != "" {
			v, err = expr.Eval(wi.Expr, env)
		} else {
			v, err = expr.EvalData(wi.List, env)
		}
		if err != nil {
			return nil, errors.New(exprMsg(err, fmt.Sprintf("Failed to evaluate with-items of task %q", spec.Name)))
		}
		values.Set(wi.Var, v)
	}
	out := make(map[string][]any, len(values.Keys))
	made := yaql.NewOrderedDict()
	size := -1
	for _, name := range values.Keys {
		l, ok := iterate(values.Map[name])
		if !ok {
			return nil, fmt.Errorf("Wrong input format for: %s. Iterable type is expected for each value.", yaql.PyStr(made))
		}
		made.Set(name, l)
		if size >= 0 && len(l) != size {
			return nil, fmt.Errorf("Wrong input format for: %s. All arrays must have the same length.", yaql.PyStr(values))
		}
		size = len(l)
		out[name] = l
	}
	return out, nil
}

// iterate is Python's list() of a value: a list as it is, a string as its
// characters, a dictionary as its keys (sorted: our dictionaries keep no
// order).
func iterate(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, true
	case map[string]any:
		keys := SortedKeys(x)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k
		}
		return out, true
	}
	return nil, false
}

// itemResult is the end of one item's action: its state, and the failed
// run to list when it failed.
func itemResult(spec *lang.Task, r Result) (string, *FailedRun) {
	switch {
	case r.Err != nil && r.Err.Type == "Cancelled":
		return Cancelled, nil
	case r.Err != nil:
		_, _, result := actionOutcome(spec, r.ActionExecutionID, r)
		// The item's index stands for the run's position among the
		// task's action executions, which it is on the first pass.
		return Error, &FailedRun{ID: r.ActionExecutionID, Pos: r.Index, Result: result}
	}
	return Success, nil
}

// itemDone counts the end of item index's run (an action or a
// sub-workflow) in state; failed is the run to list when it failed. When
// every item is done it asks the runtime for their results
// (Decision.Collect), otherwise it starts more.
func (c *Controller) itemDone(s *State, d *Decision, t *Task, spec *lang.Task, index int, state string, failed *FailedRun) {
	it := t.Items
	if it.Running > 0 {
		it.Running--
	}
	switch state {
	case Cancelled:
		it.Cancelled = append(it.Cancelled, index)
	case Error:
		it.Failed = append(it.Failed, index)
		t.ActionFailed = true
		if failed != nil {
			t.FailedRuns = append(t.FailedRuns, *failed)
		}
	default:
		it.Done++
	}
	c.touch(d, t)
	if it.Running == 0 && (len(it.Cancelled) > 0 || it.Done+len(it.Failed) >= it.Count) {
		d.Collect = append(d.Collect, t.ID)
		return
	}
	if len(it.Cancelled) > 0 || it.Running > 0 && it.Next >= it.Count && len(it.Redo) == 0 {
		return
	}
	lists, err := c.cachedItemLists(s, t, spec)
	if err != nil {
		c.forceFail(s, d, t, runMsg(s, spec, err.Error()))
		return
	}
	c.moreItems(s, d, t, spec, lists)
}

// ItemsCollected completes a with-items task whose items are all done,
// with their results in item order: in ERROR when one failed, CANCELLED
// when one was cancelled, as Mistral's WithItemsTask does.
func (c *Controller) ItemsCollected(s *State, taskID string, results []any) (*Decision, error) {
	d := newDecision()
	t, spec, err := s.taskAndSpec(taskID)
	if err != nil {
		return nil, err
	}
	if t.State != Running || t.Items == nil {
		return d, nil
	}
	state, info := Success, ""
	switch {
	case len(t.Items.Cancelled) > 0:
		state, info = Cancelled, "One or more actions was cancelled."
	case len(t.Items.Failed) > 0:
		state, info = Error, "One or more actions had failed."
	}
	if results == nil {
		results = []any{}
	}
	c.finishTask(s, d, t, spec, state, info, results)
	c.settle(s, d)
	return d, nil
}
