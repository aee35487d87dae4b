package controller

import (
	"errors"
	"fmt"

	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// ErrNotPaused is returned by Resume for an execution that is not paused.
var ErrNotPaused = errors.New("the execution is not paused")

// pause holds the execution: running actions go on and their tasks
// complete, but nothing new starts until Resume.
func (c *Controller) pause(s *State, d *Decision, msg string) {
	if s.Exec.State != Running {
		return
	}
	s.Exec.State, s.Exec.StateInfo = Paused, msg
	d.ExecChange = true
	d.ChildrenState = Paused
}

// Pause pauses a running execution, as PUT /v2/executions/{id} with
// state PAUSED does (and the pause engine command).
func (c *Controller) Pause(s *State, msg string) (*Decision, error) {
	if s.Exec.State == Paused {
		return newDecision(), nil
	}
	if s.Exec.State != Running {
		return nil, ErrNotRunning
	}
	d := newDecision()
	c.pause(s, d, msg)
	return d, nil
}

// Resume continues a paused execution as Mistral's resume does: tasks
// held by pause-before run, completed tasks whose transitions were put
// off are followed, then the backlog of transitions decided before the
// pause command.
func (c *Controller) Resume(s *State) (*Decision, error) {
	if s.Exec.State != Paused {
		return nil, ErrNotPaused
	}
	d := newDecision()
	c.resume(s, d)
	return d, nil
}

// resume runs a paused execution again: its paused sub-workflows resume
// with it (Decision.ChildrenState), so the tasks that wait for them run
// again too.
func (c *Controller) resume(s *State, d *Decision) {
	s.Exec.State, s.Exec.StateInfo = Running, ""
	d.ExecChange = true
	d.ChildrenState = Running
	for _, t := range s.Tasks {
		if t.State == Paused {
			t.State = Running
			c.touch(d, t)
		}
	}
	c.continueWorkflow(s, d)
}

// continueWorkflow runs what a pause held back.
func (c *Controller) continueWorkflow(s *State, d *Decision) {
	for _, t := range append([]*Task(nil), s.Tasks...) {
		if s.Exec.State != Running {
			return
		}
		spec := s.Spec.Task(t.Name)
		if spec == nil {
			continue
		}
		switch {
		case t.State == Idle:
			t.State, t.StateInfo = Running, ""
			c.touch(d, t)
			c.runActions(s, d, t, spec)
		case completed(t.State) && !t.Processed:
			c.proceed(s, d, t, spec)
		}
	}
	backlog := s.Exec.Backlog
	s.Exec.Backlog = nil
	for _, b := range backlog {
		if s.Exec.State != Running {
			s.Exec.Backlog = append(s.Exec.Backlog, b)
			continue
		}
		from := s.task(b.From)
		if from == nil {
			continue
		}
		c.take(s, d, from, step{tr: lang.Transition{Task: b.Task, Command: b.Command, Msg: b.Msg}, onError: b.OnError})
	}
	c.settle(s, d)
}

// ErrCannotRerun is the reason a task cannot be rerun.
type ErrCannotRerun struct{ Reason string }

func (e *ErrCannotRerun) Error() string { return e.Reason }

// Rerun runs a failed task again, as PUT /v2/tasks/{id} with state RUNNING
// does: the execution runs again, and the task's action runs anew; a
// with-items task without reset runs only its failed items again.
func (c *Controller) Rerun(s *State, taskID string, reset bool) (*Decision, error) {
	t, spec, err := s.taskAndSpec(taskID)
	if err != nil {
		return nil, err
	}
	switch {
	case t.State != Error:
		return nil, &ErrCannotRerun{"The current task execution must be in ERROR for rerun. Only updating task to rerun is supported."}
	case len(spec.WithItems) == 0 && !reset:
		return nil, &ErrCannotRerun{"Only with-items task has the option to not reset."}
	case s.Exec.State == Paused:
		return nil, &ErrCannotRerun{"The execution is paused: resume it before rerunning a task."}
	}
	d := newDecision()
	s.Exec.State, s.Exec.StateInfo, s.Exec.Output = Running, "", nil
	d.ExecChange = true
	t.State, t.StateInfo, t.Processed = Running, "", false
	t.Next, t.ErrorHandled, t.ActionFailed = nil, false, false
	t.RetryNo, t.WaitBeforeDone, t.WaitAfterDone = 0, false, false
	t.Epoch++
	c.resetRuns(d, t, !reset)
	if reset && t.Items != nil {
		t.Items = nil
	}
	c.touch(d, t)
	c.start(s, d, t, spec)
	c.settle(s, d)
	return d, nil
}

// Skipped is a failed task that was skipped (PUT /v2/tasks/{id} with
// state SKIPPED): it publishes publish-on-skip and follows on-skip.
const Skipped = "SKIPPED"

// Skip skips a failed task: the execution runs again, the task counts as
// done without error, publishes publish-on-skip (and the on-skip clause's
// publish) and follows its on-skip transitions. Mistral 15 has no skip;
// this follows the on-skip keys later Mistral versions define.
func (c *Controller) Skip(s *State, taskID string) (*Decision, error) {
	t, spec, err := s.taskAndSpec(taskID)
	if err != nil {
		return nil, err
	}
	switch {
	case t.State != Error:
		return nil, &ErrCannotRerun{"The current task execution must be in ERROR to be skipped."}
	case s.Exec.State == Paused:
		return nil, &ErrCannotRerun{"The execution is paused: resume it before skipping a task."}
	}
	d := newDecision()
	if s.Exec.State != Running {
		s.Exec.State, s.Exec.StateInfo, s.Exec.Output = Running, "", nil
		d.ExecChange = true
	}
	t.State, t.StateInfo, t.Processed = Skipped, "", false
	t.Next, t.ErrorHandled = nil, false
	c.touch(d, t)
	if c.publish(s, d, t, spec) {
		c.proceed(s, d, t, spec)
	}
	c.settle(s, d)
	return d, nil
}

// ChildRerun runs a workflow task again because its sub-workflow
// execution ev.ID, which failed, is being rerun: the task and this
// execution run again and wait for the child's new end. For a with-items
// task the child's item counts as running again rather than failed.
func (c *Controller) ChildRerun(s *State, ev ChildEvent) (*Decision, error) {
	t, _, err := s.taskAndSpec(ev.Parent.TaskID)
	if err != nil {
		return nil, err
	}
	d := newDecision()
	if t.Items != nil {
		if ev.Parent.Epoch != t.Epoch || ev.Parent.RetryNo != t.RetryNo || !completed(t.State) && t.State != Running && t.State != Paused {
			return d, nil
		}
		failed := t.Items.Failed[:0:0]
		for _, i := range t.Items.Failed {
			if i != ev.Parent.Index {
				failed = append(failed, i)
			}
		}
		if len(failed) == len(t.Items.Failed) {
			return d, nil // the item did not fail in this run
		}
		t.Items.Failed = failed
		t.Items.Running++
		runs := t.FailedRuns[:0:0]
		for _, r := range t.FailedRuns {
			if r.ID != ev.ID {
				runs = append(runs, r)
			}
		}
		t.FailedRuns = runs
		c.touch(d, t)
		if t.State == Running || t.State == Paused {
			return d, nil
		}
	} else if t.ChildID != ev.ID || t.State == Running {
		return d, nil
	}
	if s.Exec.State != Running {
		s.Exec.State, s.Exec.StateInfo, s.Exec.Output = Running, "", nil
		d.ExecChange = true
	}
	t.State, t.StateInfo, t.Processed, t.Result = Running, "", false, noResult()
	t.Next, t.ErrorHandled = nil, false
	c.touch(d, t)
	return d, nil
}

// take carries out one transition out of task t: to a task, or an engine
// command. It reports whether later transitions of the same task may
// still run (false after fail and succeed).
func (c *Controller) take(s *State, d *Decision, t *Task, st step) bool {
	tr := st.tr
	if s.Exec.State == Paused {
		s.Exec.Backlog = append(s.Exec.Backlog, Backlogged{From: t.ID, Task: tr.Task, Command: tr.Command, Msg: tr.Msg, OnError: st.onError})
		d.ExecChange = true
		return true
	}
	spec := s.Spec.Task(t.Name)
	switch tr.Command {
	case "":
	case lang.CmdNoop:
		return true
	case lang.CmdPause:
		msg, err := c.commandMsg(s, t, c.outData(s, t), tr)
		if err != nil {
			c.forceFail(s, d, t, handleMsg(s, t, spec, err))
			return false
		}
		c.pause(s, d, msg)
		return true
	case lang.CmdFail, lang.CmdSucceed:
		msg, err := c.commandMsg(s, t, c.outData(s, t), tr)
		if err != nil {
			c.forceFail(s, d, t, handleMsg(s, t, spec, err))
			return false
		}
		if tr.Command == lang.CmdFail {
			c.failWithOutput(s, d, msg)
			return false
		}
		// An output the succeed command cannot evaluate fails the task
		// too, as an error while completing it (Mistral's
		// _on_task_complete), not only the execution.
		if _, err := c.output(s, s.Spec.Output); err != nil {
			c.forceFail(s, d, t, handleMsg(s, t, spec, err))
			return false
		}
		c.succeed(s, d, msg)
		return false
	default:
		c.fail(s, d, fmt.Sprintf("engine command %q of task %q is not supported", tr.Command, t.Name))
		return false
	}
	next := s.Spec.Task(tr.Task)
	if next == nil {
		c.fail(s, d, fmt.Sprintf("task %q leads to task %q, which does not exist", t.Name, tr.Task))
		return false
	}
	c.arrive(s, d, next, s.outContext(t))
	return true
}

// outData is what the expressions of a task's transitions see: its
// context with what it published.
func (c *Controller) outData(s *State, t *Task) map[string]any {
	data := s.dataFor(t)
	for k, v := range t.Published {
		data[k] = v
	}
	return data
}
