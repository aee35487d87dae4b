package controller

import (
	"fmt"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// startChild asks the runtime to start the sub-workflow of a workflow
// task, with the task's input and the root execution's environment.
func (c *Controller) startChild(s *State, d *Decision, t *Task, spec *lang.Task) {
	env := c.env(s, t, s.dataFor(t))
	name := spec.Workflow
	if expr.HasExpr(name) {
		v, err := expr.Eval(name, env)
		if err != nil {
			c.forceFail(s, d, t, runMsg(s, spec, fmt.Sprintf("Failed to evaluate the workflow name of task %q: %v", spec.Name, err)))
			return
		}
		name = fmt.Sprint(v)
	}
	input, err := c.input(spec, env)
	if err != nil {
		c.forceFail(s, d, t, runMsg(s, spec, err.Error()))
		return
	}
	envDict, _ := s.Exec.Params["env"].(map[string]any)
	t.Runs++
	t.ChildID = c.NewID()
	c.touch(d, t)
	d.Workflows = append(d.Workflows, RunWorkflow{TaskID: t.ID, ID: t.ChildID, Workflow: name, Input: input, Env: envDict})
}

// OnChildDone applies the end of a task's sub-workflow execution, as
// Mistral's _send_result_to_parent_workflow does: its output is the task's
// result on SUCCESS; on ERROR its state info (or a message naming it) is
// the task's error; CANCELLED cancels the task.
func (c *Controller) OnChildDone(s *State, taskID, childID, state, stateInfo string, output map[string]any) (*Decision, error) {
	d := newDecision()
	t, spec, err := s.taskAndSpec(taskID)
	if err != nil {
		return nil, err
	}
	if t.State != Running || t.ChildID != childID {
		return d, nil
	}
	switch state {
	case Success:
		c.finishTask(s, d, t, spec, Success, "", anyMap(output))
	case Error:
		msg := stateInfo
		if msg == "" {
			msg = fmt.Sprintf("Failed subworkflow [execution_id=%s]", childID)
		}
		t.FailedRuns = append(t.FailedRuns, FailedRun{ID: childID, Pos: t.Runs - 1, Result: output["result"], Workflow: true})
		c.finishTask(s, d, t, spec, Error, msg, msg)
	case Cancelled:
		c.finishTask(s, d, t, spec, Cancelled, stateInfo, nil)
	default:
		return nil, fmt.Errorf("sub-workflow %s ended in state %s", childID, state)
	}
	c.settle(s, d)
	return d, nil
}

func anyMap(m map[string]any) any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
