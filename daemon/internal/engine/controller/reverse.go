package controller

import (
	"fmt"

	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// A reverse workflow runs the tasks its target task (params.task_name)
// requires, directly or not, each once every task it requires has
// succeeded, and ends with the target: Mistral's ReverseWorkflowController.

// reverseTarget is the target task of a reverse workflow.
func (s *State) reverseTarget() (*lang.Task, error) {
	name, _ := s.Exec.Params["task_name"].(string)
	if t := s.Spec.Task(name); t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("Invalid task name [wf_spec=%s, task_name=%v]", s.Spec.Name, orNone(name))
}

// CheckStart returns why Mistral refuses to start an execution of spec
// with params at all, rather than starting it and failing it, or nil: a
// reverse workflow whose params.task_name names none of its tasks.
// Mistral's controller raises inside the start request, so the API
// answers 400 and no execution exists (a task that starts such a
// sub-workflow fails to run). The engine asks before it creates the
// execution.
func CheckStart(spec *lang.Workflow, params map[string]any) error {
	if spec.Type != lang.TypeReverse {
		return nil
	}
	s := &State{Spec: spec, Exec: &Execution{Params: params}}
	_, err := s.reverseTarget()
	return err
}

func orNone(s string) any {
	if s == "" {
		return "None"
	}
	return s
}

// requires is what a task of a reverse workflow waits for, with the
// task-defaults' requires added as Mistral's get_task_requires does.
func requires(w *lang.Workflow, t *lang.Task) []string {
	out := append([]string(nil), t.Requires...)
	if w.TaskDefaults != nil {
		for _, r := range w.TaskDefaults.Requires {
			if r != t.Name && !contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// reverseNext starts every task the target needs whose requirements have
// all succeeded and that has not run, in depth-first post-order from the
// target (dfs_postorder_nodes).
func (c *Controller) reverseNext(s *State, d *Decision) {
	target, err := s.reverseTarget()
	if err != nil {
		c.fail(s, d, err.Error())
		return
	}
	var order []*lang.Task
	seen := map[string]bool{}
	var visit func(t *lang.Task)
	visit = func(t *lang.Task) {
		if seen[t.Name] {
			return
		}
		seen[t.Name] = true
		for _, r := range requires(s.Spec, t) {
			if rt := s.Spec.Task(r); rt != nil {
				visit(rt)
			}
		}
		order = append(order, t)
	}
	visit(target)
	succeeded := map[string]bool{}
	for _, t := range s.Tasks {
		if t.State == Success {
			succeeded[t.Name] = true
		}
	}
	for _, spec := range order {
		if s.Exec.State != Running {
			return
		}
		if s.latest(spec.Name) != nil {
			continue
		}
		ready := true
		ctx, published := map[string]any{}, map[string]any{}
		for _, r := range requires(s.Spec, spec) {
			if !succeeded[r] {
				ready = false
				break
			}
			for _, t := range s.Tasks {
				if t.Name == r && t.State == Success {
					published = mergeDicts(published, t.Published)
					ctx = mergeDicts(ctx, s.outContext(t))
				}
			}
		}
		if ready {
			c.schedule(s, d, spec, mergeDicts(ctx, published))
		}
	}
}
