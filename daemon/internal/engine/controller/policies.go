package controller

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// Task states beyond those an execution shares, as Mistral names them.
const (
	// RunningDelayed is a task waiting for a timer: wait-before,
	// wait-after or the delay of a retry. Mistral's constant is
	// RUNNING_DELAYED; the state it shows is DELAYED.
	RunningDelayed = "DELAYED"
	// Idle is a task held by pause-before until the execution resumes.
	Idle = "IDLE"
	// Paused is an execution that runs no new task until resumed.
	Paused = "PAUSED"
)

// policiesOf is a task's policies with the task-defaults filling in, as
// Mistral's construct_policies_list does, every one for which the task's
// own setting builds no policy: one it does not set, and one set to a
// value that means "none" (0 or less for a wait or a timeout, false, 0 or
// "" for pause-before, concurrency and fail-on). So `pause-before: false`
// or `timeout: 0` on a task leaves the task-defaults' setting in force.
func policiesOf(w *lang.Workflow, t *lang.Task) lang.Policies {
	p := t.Policies
	if w.TaskDefaults == nil {
		return p
	}
	def := w.TaskDefaults.Policies
	if p.Retry == nil {
		p.Retry = def.Retry
	}
	for _, f := range []struct {
		dst, src *any
		builds   func(any) bool
	}{
		{&p.WaitBefore, &def.WaitBefore, built}, {&p.WaitAfter, &def.WaitAfter, built},
		{&p.Timeout, &def.Timeout, built}, {&p.PauseBefore, &def.PauseBefore, expr.Truthy},
		{&p.Concurrency, &def.Concurrency, expr.Truthy}, {&p.FailOn, &def.FailOn, expr.Truthy},
	} {
		if !f.builds(*f.dst) {
			*f.dst = *f.src
		}
	}
	return p
}

// afterComplete applies Mistral's after-completion policies in their
// order: wait-after (which holds the task DELAYED, so the others
// wait for its timer), fail-on, retry. It reports whether the task is
// still complete, so that its transitions are to be followed.
func (c *Controller) afterComplete(s *State, d *Decision, t *Task, spec *lang.Task) bool {
	pol := policiesOf(s.Spec, spec)
	// Mistral evaluates a policy's settings in the task's context
	// (TaskPolicy.after_task_complete), retry's continue-on and break-on
	// in it with the task's outbound context added.
	env := c.viewEnv(s, t, s.taskContext(t, nil))
	fail := func(what string, err error) bool {
		c.forceFail(s, d, t, handleMsg(s, t, spec, errors.New(exprMsg(err, fmt.Sprintf("Failed to evaluate %s of task %q", what, spec.Name)))))
		return false
	}
	if !t.WaitAfterDone && pol.WaitAfter != nil {
		wait, err := c.seconds(pol.WaitAfter, env)
		if err != nil {
			return fail("wait-after", err)
		}
		if wait > 0 {
			t.WaitAfterDone = true
			t.EndState, t.EndInfo = t.State, t.StateInfo
			t.State, t.StateInfo = RunningDelayed, fmt.Sprintf("Delayed by 'wait-after' policy [delay=%s]", fmtSecs(wait))
			c.addTimer(d, t, TimerWaitAfter, wait)
			return false
		}
	}
	if t.State == Success && pol.FailOn != nil {
		failOn, err := c.flag(pol.FailOn, env)
		if err != nil {
			return fail("fail-on", err)
		}
		if failOn {
			t.State, t.StateInfo = Error, "Failed by 'fail-on' policy"
		}
	}
	if r := pol.Retry; r != nil {
		again, delay, err := c.retry(t, r, env, c.viewEnv(s, t, s.taskContext(t, s.outContext(t))))
		if err != nil {
			return fail("retry", err)
		}
		if again {
			t.RetryNo++
			c.resetRuns(d, t, false)
			t.State, t.StateInfo = RunningDelayed, fmt.Sprintf("Delayed by 'retry' policy [delay=%s]", fmtSecs(delay))
			c.addTimer(d, t, TimerRetry, delay)
			return false
		}
	}
	return true
}

// retry decides, as Mistral's RetryPolicy.after_task_complete, whether a
// completed task runs again and after how long: while retries remain, an
// error that break-on does not stop, or a success that continue-on asks
// to repeat.
func (c *Controller) retry(t *Task, r *lang.Retry, env, clauseEnv *expr.Env) (again bool, delay float64, err error) {
	count, err := c.seconds(r.Count, env)
	if err != nil || count == 0 {
		return false, 0, err
	}
	var continueOn, breakOn any
	if r.ContinueOn != "" {
		if continueOn, err = expr.Eval(r.ContinueOn, clauseEnv); err != nil {
			return false, 0, err
		}
	}
	if r.BreakOn != "" {
		if breakOn, err = expr.Eval(r.BreakOn, clauseEnv); err != nil {
			return false, 0, err
		}
	}
	if !completed(t.State) || t.State == Cancelled {
		return false, 0, nil
	}
	stop := t.State == Success && r.ContinueOn == ""
	stop = stop || (r.ContinueOn != "" && !expr.Truthy(continueOn))
	broken := t.State == Error && expr.Truthy(breakOn)
	if float64(t.RetryNo) >= count || broken || stop {
		// Mistral forgets the count when the loop ends, so a rerun
		// retries as many times again.
		t.RetryNo = 0
		return false, 0, nil
	}
	if delay, err = c.seconds(r.Delay, env); err != nil {
		return false, 0, err
	}
	return true, delay, nil
}

// resetRuns makes a task's runs count no more before it runs them again:
// all of them, or (a rerun without reset) only the failed items.
func (c *Controller) resetRuns(d *Decision, t *Task, failedOnly bool) {
	d.Replace = append(d.Replace, Replace{TaskID: t.ID, FailedOnly: failedOnly})
	t.Result, t.Kept = noResult(), nil
	if it := t.Items; it != nil {
		if failedOnly {
			it.Redo = append(append(append([]int{}, it.Redo...), it.Failed...), it.Cancelled...)
		} else {
			it.Next, it.Redo, it.Done = 0, nil, 0
		}
		it.Failed, it.Cancelled, it.Running = nil, nil, 0
	}
}

// OnTimer applies a task's timer: the end of a wait-before or of a
// retry's delay runs the task's action again; the end of a wait-after
// completes the task; a timeout fails a task that has not completed. A
// timer that finds its task moved on does nothing.
func (c *Controller) OnTimer(s *State, taskID, kind string, epoch int) (*Decision, error) {
	d := newDecision()
	t, spec, err := s.taskAndSpec(taskID)
	if err != nil {
		return nil, err
	}
	if epoch != t.Epoch {
		return d, nil // a timer of a run before a rerun
	}
	switch kind {
	case TimerWaitBefore, TimerRetry:
		if t.State != RunningDelayed {
			return d, nil
		}
		if kind == TimerRetry && spec.Join != 0 {
			// A join retried waits for its inbound tasks again
			// (Mistral sets it WAITING and refreshes it after the delay).
			t.State, t.StateInfo, t.Processed = Waiting, "Task is waiting.", false
			c.touch(d, t)
			break
		}
		t.State, t.StateInfo = Running, ""
		t.Processed = false
		c.touch(d, t)
		c.runActions(s, d, t, spec)
	case TimerWaitAfter:
		if t.State != RunningDelayed || t.EndState == "" {
			return d, nil
		}
		state, info := t.EndState, t.EndInfo
		t.EndState, t.EndInfo = "", ""
		// Mistral's complete() publishes again and applies the other
		// policies; wait-after is done.
		t.completing = true
		c.finishTask(s, d, t, spec, state, info, t.Result)
		t.completing = false
	case TimerJoin:
		// settle starts the join, with the context of every inbound task
		// that led to it by now.
		if t.State != Waiting {
			return d, nil
		}
		t.JoinTimer, t.JoinDue = false, true
		c.touch(d, t)
	case TimerTimeout:
		// Mistral's _fail_task_if_incomplete: whatever the task waits
		// for, even a pause-before, it fails once the timeout is over.
		if completed(t.State) {
			return d, nil
		}
		env := c.env(s, t, s.dataFor(t))
		secs, _ := c.seconds(policiesOf(s.Spec, spec).Timeout, env)
		msg := fmt.Sprintf("Task timed out [timeout(s)=%s].", fmtSecs(secs))
		if t.State == Running {
			d.Cancel = append(d.Cancel, t.ID)
		}
		if t.Items != nil {
			t.Items.Running = 0
		}
		c.finishTask(s, d, t, spec, Error, msg, msg)
	default:
		return nil, fmt.Errorf("unknown timer kind %q", kind)
	}
	c.settle(s, d)
	return d, nil
}

// TimedOut fails a task whose timeout policy ran out, with Mistral's
// message. A task that already ended is left alone.
func (c *Controller) TimedOut(s *State, taskID string) (*Decision, error) {
	t := s.task(taskID)
	if t == nil {
		return nil, fmt.Errorf("task execution %s is not part of execution %s", taskID, s.Exec.ID)
	}
	return c.OnTimer(s, taskID, TimerTimeout, t.Epoch)
}

// fmtSecs writes a delay the way Mistral's messages show it (Python's str
// of the number the policy was given).
func fmtSecs(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
