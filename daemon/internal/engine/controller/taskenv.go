package controller

import "github.com/sirocco-wf/sirocco/daemon/internal/expr"

// TaskEnv is the expression environment of task taskID's action with
// front laid over its data, as Mistral's ContextView(input, ctx) puts an
// ad-hoc action's input in front of the task's context. The runtime
// evaluates an ad-hoc action's base-input in it, so that the input, the
// workflow's variables and env() are all visible, as in Mistral.
func (c *Controller) TaskEnv(s *State, taskID string, front map[string]any) *expr.Env {
	var cur *Task
	for _, t := range s.Tasks {
		if t.ID == taskID {
			cur = t
		}
	}
	data := s.baseData()
	if cur != nil {
		data = s.dataFor(cur)
	}
	for k, v := range front {
		data[k] = v
	}
	return c.env(s, cur, data)
}
