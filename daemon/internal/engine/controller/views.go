package controller

import (
	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// Mistral evaluates every expression of a workflow in a
// data_flow.ContextView, a stack of dicts looked up in order, and which
// dicts it stacks depends on where the expression is. The lookup makes
// the same data wherever the stack differs only in order, but a failed
// expression prints the stack ("Can not evaluate YAQL expression [...,
// data={'__task_execution': {...}, '__env': {}, , , ...}]"), so each place
// below builds the stack Mistral builds there. The expression sees
// view.Merged().

// taskLayer is data_flow.get_current_task_dict.
func taskLayer(t *Task) yaql.OrderedDict {
	return expr.Layer(map[string]any{"__task_execution": map[string]any{"id": t.ID, "name": t.Name}})
}

// envLayer is data_flow.get_workflow_environment_dict: the environment,
// {} without one.
func (s *State) envLayer() yaql.OrderedDict {
	env, _ := s.Exec.Params["env"].(map[string]any)
	if env == nil {
		env = map[string]any{}
	}
	return expr.Layer(map[string]any{"__env": env})
}

// wfLayer is wf_ex.context: __execution (which Mistral puts there first),
// then the vars and the variables published globally.
func (s *State) wfLayer() yaql.OrderedDict {
	m := copyMap(s.wfContext())
	if m == nil {
		m = map[string]any{}
	}
	m["__execution"] = map[string]any{"id": s.Exec.ID}
	return expr.Layer(m, "__execution")
}

func (s *State) inputLayer() yaql.OrderedDict { return expr.Layer(s.Exec.Input) }

// taskContext is Task.get_expression_context(ctx), where Mistral evaluates
// a task's action input, with-items, policies and retry clauses: ctx is
// what the place adds (an item's variables, the task's outbound context
// for retry), nil for nothing.
func (s *State) taskContext(t *Task, ctx map[string]any) expr.ContextView {
	return expr.ContextView{taskLayer(t), s.envLayer(), expr.Layer(ctx), expr.Layer(t.InContext), s.wfLayer(), s.inputLayer()}
}

// inputContext is the taskContext of an action's input and the other keys of
// its run: for an item of a with-items task, ctx is the item's variables
// with the task's inbound context over them (merge_dicts(item, ctx)),
// which data holds.
func (s *State) inputContext(t *Task, spec *lang.Task, data map[string]any) expr.ContextView {
	if len(spec.WithItems) == 0 {
		return s.taskContext(t, nil)
	}
	ctx := make(map[string]any, len(spec.WithItems)+len(t.InContext))
	for _, wi := range spec.WithItems {
		if v, ok := data[wi.Var]; ok {
			ctx[wi.Var] = v
		}
	}
	for k, v := range t.InContext {
		ctx[k] = v
	}
	return s.taskContext(t, ctx)
}

// publishContext is data_flow.publish_variables' context.
func (s *State) publishContext(t *Task) expr.ContextView {
	return expr.ContextView{taskLayer(t), expr.Layer(t.InContext), s.envLayer(), s.wfLayer(), s.inputLayer()}
}

// transitionContext is the context of a task's transitions (the guards and
// the engine commands' parameters, DirectWorkflowController's
// _find_next_tasks): the task's outbound context after the task.
func (s *State) transitionContext(t *Task) expr.ContextView {
	return expr.ContextView{taskLayer(t), expr.Layer(s.outContext(t)), s.envLayer(), s.wfLayer(), s.inputLayer()}
}

// outputContext is data_flow.evaluate_workflow_output's context, over the
// final context ctx.
func (s *State) outputContext(ctx map[string]any) expr.ContextView {
	return expr.ContextView{expr.Layer(ctx), s.envLayer(), s.wfLayer(), s.inputLayer()}
}

// varsContext is add_workflow_variables_to_context's context.
func (s *State) varsContext() expr.ContextView {
	return expr.ContextView{s.envLayer(), s.wfLayer(), s.inputLayer()}
}

// viewEnv is env for an expression evaluated in view, whose failure is
// worded as Mistral words it.
func (c *Controller) viewEnv(s *State, cur *Task, view expr.ContextView) *expr.Env {
	env := c.env(s, cur, view.Merged())
	env.View = view
	return env
}
