package controller

import (
	"fmt"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// childFor builds the start of a workflow task's sub-workflow (of one item,
// when data holds the item's variables): its name and input evaluated in
// the task's context, the root execution's environment, and the task run
// it belongs to. On an error it fails the task as Mistral does and
// returns false.
func (c *Controller) childFor(s *State, d *Decision, t *Task, spec *lang.Task, data map[string]any) (RunWorkflow, bool) {
	env := c.viewEnv(s, t, s.inputContext(t, spec, data))
	name := spec.Workflow
	if expr.HasExpr(name) {
		v, err := expr.Eval(name, env)
		if err != nil {
			c.forceFail(s, d, t, runMsg(s, spec, exprMsg(err, fmt.Sprintf("Failed to evaluate the workflow name of task %q", spec.Name))))
			return RunWorkflow{}, false
		}
		name = fmt.Sprint(v)
	}
	input, err := c.input(spec, env)
	if err != nil {
		c.forceFail(s, d, t, runMsg(s, spec, err.Error()))
		return RunWorkflow{}, false
	}
	envDict, _ := s.Exec.Params["env"].(map[string]any)
	t.Runs++
	c.touch(d, t)
	return RunWorkflow{
		Parent: ParentRun{ExecutionID: s.Exec.ID, TaskID: t.ID, Epoch: t.Epoch, RetryNo: t.RetryNo},
		ID:     c.NewID(), Workflow: name, Input: input, Env: envDict,
	}, true
}

// childTask is the task a sub-workflow event is for, or nil when the event
// belongs to a run of the task that is over (a sub-workflow of an earlier
// retry or rerun, or of a task that ended without it).
func (s *State) childTask(ev ChildEvent) (*Task, *lang.Task, error) {
	t, spec, err := s.taskAndSpec(ev.Parent.TaskID)
	if err != nil {
		return nil, nil, err
	}
	if t.State != Running && t.State != Paused {
		return nil, nil, nil
	}
	if t.Items == nil {
		if t.ChildID != ev.ID {
			return nil, nil, nil
		}
		return t, spec, nil
	}
	if ev.Parent.Epoch != t.Epoch || ev.Parent.RetryNo != t.RetryNo {
		return nil, nil, nil
	}
	return t, spec, nil
}

// OnChildDone applies the end of a task's sub-workflow execution, as
// Mistral's _send_result_to_parent_workflow does: its output is the task's
// result on SUCCESS; on ERROR its state info (or a message naming it) is
// the task's error; CANCELLED cancels the task. The sub-workflow of an
// item counts as that item's run, its output as the item's result.
func (c *Controller) OnChildDone(s *State, ev ChildEvent) (*Decision, error) {
	d := newDecision()
	t, spec, err := s.childTask(ev)
	if err != nil || t == nil {
		return d, err
	}
	switch ev.State {
	case Success, Error, Cancelled:
	default:
		return nil, fmt.Errorf("sub-workflow %s ended in state %s", ev.ID, ev.State)
	}
	if t.State == Paused {
		// Its end may come before its resume does.
		c.childResumed(s, d, t, ev.Paused)
	}
	if t.Items != nil {
		var failed *FailedRun
		if ev.State == Error {
			failed = &FailedRun{ID: ev.ID, Pos: ev.Parent.Index, Result: ev.Output["result"], Workflow: true}
		}
		c.itemDone(s, d, t, spec, ev.Parent.Index, ev.State, failed)
		c.settle(s, d)
		return d, nil
	}
	switch ev.State {
	case Success:
		c.finishTask(s, d, t, spec, Success, "", runResult(t, spec, anyMap(ev.Output), true))
	case Error:
		msg := ev.StateInfo
		if msg == "" {
			msg = fmt.Sprintf("Failed subworkflow [execution_id=%s]", ev.ID)
		}
		t.FailedRuns = append(t.FailedRuns, FailedRun{ID: ev.ID, Pos: t.Runs - 1, Result: ev.Output["result"], Workflow: true})
		c.finishTask(s, d, t, spec, Error, msg, runResult(t, spec, msg, false))
	case Cancelled:
		c.finishTask(s, d, t, spec, Cancelled, ev.StateInfo, runResult(t, spec, nil, false))
	}
	c.settle(s, d)
	return d, nil
}

// OnChildState applies a pause or resume of a task's sub-workflow, as
// Mistral's _on_action_update does: a paused sub-workflow pauses its task
// and the execution (and through it the other sub-workflows and the
// parents above); once none of the task's sub-workflows is paused the task
// runs again, and the execution resumes when no task is paused any more.
func (c *Controller) OnChildState(s *State, ev ChildEvent) (*Decision, error) {
	d := newDecision()
	t, _, err := s.childTask(ev)
	if err != nil || t == nil {
		return d, err
	}
	switch {
	case ev.Paused && t.State == Running:
		t.State, t.StateInfo = Paused, ""
		c.touch(d, t)
		c.pause(s, d, "")
	case !ev.Paused && t.State == Paused:
		c.childResumed(s, d, t, false)
	}
	return d, nil
}

// childResumed runs a PAUSED task again once none of its sub-workflows is
// paused (stillPaused false), and resumes the execution when that was its
// last paused task, as Mistral's resume_workflow of the parent does.
func (c *Controller) childResumed(s *State, d *Decision, t *Task, stillPaused bool) {
	if stillPaused {
		return
	}
	t.State = Running
	c.touch(d, t)
	if s.Exec.State != Paused {
		return
	}
	for _, o := range s.Tasks {
		if o.State == Paused {
			return
		}
	}
	c.resume(s, d)
}

func anyMap(m map[string]any) any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
