package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/engine/controller"
	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// Ad-hoc actions are Mistral's POST /v2/actions: an ad-hoc action names
// an existing action (its base), presets its input (base-input, whose
// expressions see the ad-hoc action's own input) and may reshape its
// result (output). The engine stores each definition; when a task or
// POST /v2/action_executions names one, the executor host is asked to run
// the base with the expanded input, and the result is reshaped when it
// comes back. A base may itself be an ad-hoc action: the chain expands
// level by level, as Mistral's AdHocActionDescriptor does.

var _ api.AdhocActions = (*Engine)(nil)

// CreateActions parses a document of ad-hoc actions and stores each of
// them; nothing is stored unless every one is valid and new.
func (e *Engine) CreateActions(ctx context.Context, definition string) ([]*store.ActionDef, error) {
	defs, err := e.actionDefs(definition)
	if err != nil {
		return nil, err
	}
	return createAll(ctx, e.store, defs, store.Tx.CreateActionDef)
}

// UpdateActions replaces the definition of every ad-hoc action the
// document defines, in one transaction; an action that does not exist is
// store.ErrNotFound (Mistral's PUT does not create). With an identifier
// (PUT /v2/actions/{identifier}) the document must define that one action.
func (e *Engine) UpdateActions(ctx context.Context, definition, identifier string) ([]*store.ActionDef, error) {
	defs, err := e.actionDefs(definition)
	if err != nil {
		return nil, err
	}
	if identifier != "" && len(defs) > 1 {
		return nil, badf("the document defines %d actions; PUT /v2/actions/%s updates one", len(defs), identifier)
	}
	err = e.store.InTx(ctx, func(tx store.Tx) error {
		for _, d := range defs {
			if identifier != "" {
				old, err := tx.GetActionDef(identifier)
				if err != nil {
					return err
				}
				if old.Name != d.Name {
					return badf("action %s is named %q but the document defines %q: an ad-hoc action cannot be renamed", identifier, old.Name, d.Name)
				}
			}
			if err := tx.UpdateActionDef(d); err != nil {
				return fmt.Errorf("%w (PUT replaces existing ad-hoc actions only; POST creates them)", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return defs, nil
}

// actionDefs parses a document of ad-hoc actions into store rows.
func (e *Engine) actionDefs(definition string) ([]*store.ActionDef, error) {
	doc, err := parseActions(definition)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	defs := make([]*store.ActionDef, 0, len(doc.Actions))
	for _, a := range doc.Actions {
		d, err := e.actionDefRow(a, definition, "private")
		if err != nil {
			return nil, err
		}
		d.ID, d.CreatedAt, d.UpdatedAt = uuid.NewString(), now, now
		defs = append(defs, d)
	}
	return defs, nil
}

// actionDefRow is the row a parsed ad-hoc action is stored as, whether it
// came alone or in a workbook; definition is the text it keeps. A name
// that an executor host serves is refused: the served action would win
// over the ad-hoc one, which could then never run.
func (e *Engine) actionDefRow(a *lang.Action, definition, scope string) (*store.ActionDef, error) {
	if plugin, _, ok := e.route("", a.Name); ok {
		return nil, conflictf("action %q is served by plugin %q of the executor hosts: an ad-hoc action cannot take its name", a.Name, plugin)
	}
	spec, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("action %q: %w", a.Name, err)
	}
	return &store.ActionDef{
		Name: a.Name, Definition: definition, Spec: spec,
		Description: a.Description, Input: inputSummary(a.Input), Tags: a.Tags, Scope: scope,
	}, nil
}

// GetActionDef reads one ad-hoc action by name or id.
func (e *Engine) GetActionDef(ctx context.Context, identifier string) (*store.ActionDef, error) {
	return read(ctx, e.store, func(tx store.Tx) (*store.ActionDef, error) { return tx.GetActionDef(identifier) })
}

// ListActionDefs lists every ad-hoc action of the default namespace.
func (e *Engine) ListActionDefs(ctx context.Context) ([]*store.ActionDef, error) {
	return read(ctx, e.store, func(tx store.Tx) ([]*store.ActionDef, error) {
		return tx.ListActionDefs(store.ListOpts{SortKeys: []string{"name"}, Filters: map[string]string{"namespace": ""}})
	})
}

// DeleteActionDef deletes an ad-hoc action by name or id. Workflows that
// name it fail to start afterwards, as in Mistral.
func (e *Engine) DeleteActionDef(ctx context.Context, identifier string) error {
	return e.store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteActionDef(identifier) })
}

// adhocChain is an ad-hoc action with the ad-hoc actions below it,
// outermost first: each one's Base names the next, and the last one's
// Base is the action an executor host runs.
type adhocChain []*lang.Action

// maxAdhocDepth bounds a chain, so that a mistake cannot make every run
// read the store without end.
const maxAdhocDepth = 16

// loadAdhoc reads the stored ad-hoc action name and the ad-hoc actions
// its base names, down to the first base that is not one. It is nil, with
// no error, when name is not an ad-hoc action.
func loadAdhoc(tx store.Tx, name string) (adhocChain, error) {
	var chain adhocChain
	for cur := name; ; {
		d, err := tx.GetActionDef(cur)
		if errors.Is(err, store.ErrNotFound) || (err == nil && d.Name != cur) {
			return chain, nil // cur is an id, not a name: no action is named so
		}
		if err != nil {
			return nil, err
		}
		for _, a := range chain {
			if a.Name == d.Name {
				return nil, badf("ad-hoc action %q: its base actions form a loop (%s -> %s)", name, chain.names(), d.Name)
			}
		}
		if len(chain) == maxAdhocDepth {
			return nil, badf("ad-hoc action %q: more than %d ad-hoc actions deep (%s)", name, maxAdhocDepth, chain.names())
		}
		a := &lang.Action{}
		if err := json.Unmarshal(d.Spec, a); err != nil {
			return nil, fmt.Errorf("ad-hoc action %q: stored spec: %w", d.Name, err)
		}
		chain = append(chain, a)
		cur = a.Base
	}
}

func (c adhocChain) names() string {
	n := make([]string, len(c))
	for i, a := range c {
		n[i] = a.Name
	}
	return strings.Join(n, " -> ")
}

// base is the action an executor host runs for the chain.
func (c adhocChain) base() string { return c[len(c)-1].Base }

// input checks what the caller gives the outermost action against the
// input it declares and fills in its defaults: what the action execution
// records as its input, as Mistral does. A mismatch is a BadRequest error
// in Mistral's words (invalidInput).
func (c adhocChain) input(given map[string]any) (map[string]any, error) {
	if missing, unexpected := compareParams(c[0].Input, given); len(missing) > 0 || len(unexpected) > 0 {
		return nil, badf("%s", invalidInput(c[0].Name, adhocClass, missing, unexpected))
	}
	return withDefaults(c[0].Input, given), nil
}

// expand computes the base action's input from the outermost action's
// input (with its defaults): each level adds its own defaults to what it
// is given and evaluates its base-input with that as `$`, as Mistral's
// AdHocActionDescriptor.instantiate does. envOf makes the expression
// environment of one level from its data.
func (c adhocChain) expand(input map[string]any, envOf func(data map[string]any) *expr.Env) (map[string]any, error) {
	cur := input
	for _, a := range c {
		data := make(map[string]any, len(cur)+len(a.Input))
		for k, v := range cur {
			data[k] = v
		}
		for _, p := range a.Input {
			if _, ok := data[p.Name]; !ok && p.HasDefault {
				data[p.Name] = p.Default
			}
		}
		v, err := expr.EvalData(a.BaseInput, envOf(data))
		if err != nil {
			return nil, fmt.Errorf("ad-hoc action %q: base-input: %w", a.Name, err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("ad-hoc action %q: base-input is %T, not a mapping", a.Name, v)
		}
		cur = m
	}
	return cur, nil
}

// output reshapes the base action's result through each level's output,
// innermost first (Mistral's post_process_result).
func (c adhocChain) output(result any) (any, error) {
	for i := len(c) - 1; i >= 0; i-- {
		if c[i].Output == nil {
			continue
		}
		v, err := expr.EvalData(c[i].Output, expr.MistralEnv(result, nil))
		if err != nil {
			return nil, fmt.Errorf("ad-hoc action %q: output: %w", c[i].Name, err)
		}
		result = v
	}
	return result, nil
}

// adhocResult reshapes the result of a run of an ad-hoc action (one whose
// action execution keeps the chain in Spec) before anything sees it. An
// error result stays as it is; an output expression that fails makes the
// run fail with its message.
func adhocResult(ae *store.ActionExecution, output any, aerr *controller.ActionError) (any, *controller.ActionError) {
	if len(ae.Spec) == 0 || aerr != nil {
		return output, aerr
	}
	var c adhocChain
	if err := json.Unmarshal(ae.Spec, &c); err != nil || len(c) == 0 {
		return nil, &controller.ActionError{Type: "InvalidSpec", Message: fmt.Sprintf("action execution %s: stored ad-hoc action chain unreadable: %v", ae.ID, err)}
	}
	out, err := c.output(output)
	if err != nil {
		return nil, &controller.ActionError{Type: "ActionException", Message: err.Error()}
	}
	return out, nil
}

// checkParams checks input against declared parameters: a name that is
// not declared, or a required one that is missing, is a BadRequest error
// naming what (e.g. `workflow "wf"`); defaults fill the rest.
func checkParams(what string, params []lang.Param, input map[string]any) (map[string]any, error) {
	missing, unexpected := compareParams(params, input)
	switch {
	case len(unexpected) > 0:
		return nil, badf("%s does not take input %s (it takes: %s)", what, quoteAll(unexpected), orNone(paramNames(params)))
	case len(missing) > 0:
		return nil, badf("%s needs input %s", what, quoteAll(missing))
	}
	return withDefaults(params, input), nil
}

// withDefaults is the declared parameters of input, with the defaults of
// those it lacks.
func withDefaults(params []lang.Param, input map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for _, p := range params {
		if v, ok := input[p.Name]; ok {
			out[p.Name] = v
		} else if p.HasDefault {
			out[p.Name] = p.Default
		}
	}
	return out
}

// resolveAdhoc expands, in place, each action of d that names a stored
// ad-hoc action into its base action and input, keeping the ad-hoc action
// in RunAction.Adhoc for the action execution. A run that cannot go (input
// the action does not declare or misses, a base-input that fails, a base
// no executor host serves, or an expanded input that does not fit its
// schema) fails its task through the controller, as Mistral fails it, and
// what the controller decides next is merged in and resolved in turn.
// Actions some host serves are left as they are without a read.
func (e *Engine) resolveAdhoc(tx store.Tx, st *controller.State, d *controller.Decision) error {
	for {
		var failed []controller.RunAction
		var msgs []string
		ok := d.Actions[:0]
		for _, a := range d.Actions {
			err := e.expandTaskRun(tx, st, &a)
			var br *badRequest
			switch {
			case err == nil:
				ok = append(ok, a)
			case errors.As(err, &br):
				failed, msgs = append(failed, a), append(msgs, br.msg)
			default:
				return err
			}
		}
		d.Actions = ok
		if len(failed) == 0 {
			return nil
		}
		for i, a := range failed {
			next, err := e.ctrl.FailToRun(st, a.TaskID, msgs[i])
			if err != nil {
				return err
			}
			merge(d, next)
		}
	}
}

// expandTaskRun expands a task's run of an ad-hoc action (see
// resolveAdhoc); it leaves any other run as it is.
func (e *Engine) expandTaskRun(tx store.Tx, st *controller.State, a *controller.RunAction) error {
	if a.Adhoc != nil || expr.HasExpr(a.Action) {
		return nil
	}
	if _, _, ok := e.route(a.Target, a.Action); ok {
		return nil
	}
	chain, err := loadAdhoc(tx, a.Action)
	if err != nil || chain == nil {
		return err // not ad-hoc: resolve fails it as an action no host serves
	}
	input, err := chain.input(a.Input)
	if err != nil {
		return err
	}
	base, err := chain.expand(input, func(data map[string]any) *expr.Env { return e.ctrl.TaskEnv(st, a.TaskID, data) })
	if err != nil {
		return e.instantiateFailed(tx, chain, a.Input, input, err)
	}
	target := targetOr(a.Target)
	if _, _, ok := e.route(a.Target, chain.base()); !ok {
		return e.instantiateFailed(tx, chain, a.Input, input, fmt.Errorf(
			"ad-hoc action %q: its base action %q is unknown: no executor host on target %q has ever served it and no ad-hoc action has that name",
			chain[len(chain)-1].Name, chain.base(), target))
	}
	if spec, _ := e.actionSpec(target, chain.base()); len(spec.Input) > 0 {
		if err := checkSchema(chain.base(), spec.Input, base); err != nil {
			var mm *inputMismatch
			if errors.As(err, &mm) {
				return e.instantiateFailed(tx, chain, a.Input, input, err)
			}
			return badf("ad-hoc action %q: %v", a.Action, err)
		}
	}
	run := &controller.AdhocRun{Name: a.Action}
	if run.Input, err = json.Marshal(input); err != nil {
		return badf("ad-hoc action %q: input: %v", a.Action, err)
	}
	if run.Spec, err = json.Marshal(chain); err != nil {
		return err
	}
	a.Action, a.Input, a.Adhoc = chain.base(), base, run
	return nil
}

// instantiateFailed fails a task's run of the ad-hoc action chain whose
// base action cannot be built, with Mistral's message, which keeps no
// cause: the cause goes to the log for whoever looks for it. given is
// what the task gave, input that with the defaults.
func (e *Engine) instantiateFailed(tx store.Tx, chain adhocChain, given, input map[string]any, cause error) error {
	d, err := tx.GetActionDef(chain[0].Name)
	if err != nil {
		return fmt.Errorf("ad-hoc action %q: %w", chain[0].Name, err)
	}
	e.log.Info("ad-hoc action cannot be built from its base action; its task fails", "action", chain[0].Name, "cause", cause)
	return badf("%s", instantiateFailed(chain[0].Name, d.Definition, givenThenDefaults(chain[0].Input, given, input)))
}

// isAdhoc tells whether name is a stored ad-hoc action, for the check of
// a workflow's actions when it starts: whether its base can run is found
// out when the task runs, and a task that cannot run fails as in Mistral.
func isAdhoc(tx store.Tx, name string) (bool, error) {
	d, err := tx.GetActionDef(name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && d.Name == name, err
}
