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

// CreateWorkflows parses and validates a workflow document and stores each
// of its workflows. Nothing is stored unless every workflow is valid and
// new.
func (e *Engine) CreateWorkflows(ctx context.Context, definition string) ([]*store.WorkflowDef, error) {
	doc, err := parseWorkflowDocument(definition)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	defs := make([]*store.WorkflowDef, 0, len(doc.Workflows))
	for _, w := range doc.Workflows {
		d, err := workflowDefRow(w, definition, "private")
		if err != nil {
			return nil, err
		}
		d.ID, d.CreatedAt, d.UpdatedAt = uuid.NewString(), now, now
		defs = append(defs, d)
	}
	return createAll(ctx, e.store, defs, store.Tx.CreateWorkflowDef)
}

// createAll stores new rows with create in one transaction: all of them
// or, at the first that fails (a taken name), none.
func createAll[T any](ctx context.Context, s store.Store, rows []T, create func(store.Tx, T) error) ([]T, error) {
	err := s.InTx(ctx, func(tx store.Tx) error {
		for _, r := range rows {
			if err := create(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// workflowDefRow is the row a parsed workflow is stored as, whether it
// came alone or in a workbook; definition is the text it keeps.
func workflowDefRow(w *lang.Workflow, definition, scope string) (*store.WorkflowDef, error) {
	spec, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("workflow %q: %w", w.Name, err)
	}
	return &store.WorkflowDef{
		Name: w.Name, Definition: definition, Spec: spec,
		Input: inputSummary(w.Input), Tags: w.Tags, Scope: scope,
	}, nil
}

// inputSummary is Mistral's one-line description of a workflow's input,
// e.g. `name, greeting="hi"`.
func inputSummary(params []lang.Param) string {
	parts := make([]string, len(params))
	for i, p := range params {
		if !p.HasDefault {
			parts[i] = p.Name
			continue
		}
		if s, ok := p.Default.(string); ok {
			parts[i] = fmt.Sprintf("%s=\"%s\"", p.Name, s)
			continue
		}
		b, _ := json.Marshal(p.Default)
		parts[i] = p.Name + "=" + string(b)
	}
	return strings.Join(parts, ", ")
}

// read runs f, a read the API asks for, in a transaction of its own and
// returns what it read.
func read[T any](ctx context.Context, s store.Store, f func(tx store.Tx) (T, error)) (T, error) {
	var out T
	err := s.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = f(tx)
		return err
	})
	return out, err
}

// GetWorkflow reads one workflow definition by name.
func (e *Engine) GetWorkflow(ctx context.Context, name string) (*store.WorkflowDef, error) {
	return read(ctx, e.store, func(tx store.Tx) (*store.WorkflowDef, error) { return tx.GetWorkflowDef(name) })
}

// ListWorkflows lists workflow definitions.
func (e *Engine) ListWorkflows(ctx context.Context, o store.ListOpts) ([]*store.WorkflowDef, error) {
	return read(ctx, e.store, func(tx store.Tx) ([]*store.WorkflowDef, error) { return tx.ListWorkflowDefs(o) })
}

// StartExecution checks the request against the workflow (input names,
// required input, actions that some executor host serves), then creates
// the execution and starts its first tasks in one transaction.
func (e *Engine) StartExecution(ctx context.Context, r api.StartRequest) (*store.Execution, error) {
	given := r.ID != ""
	if !given {
		if r.WorkflowName == "" {
			return nil, badf("workflow_name is required")
		}
		r.ID = uuid.NewString()
	}
	var ex *store.Execution
	var spec *lang.Workflow
	existed := false
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if given {
			// An id that exists gives that execution back (a POST sent
			// again), read in the transaction that would start it.
			if ex, err = tx.GetExecution(r.ID, false); err == nil {
				existed = true
				return nil
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if r.WorkflowName == "" {
				return badf("workflow_name is required")
			}
		}
		ex, spec, err = e.startExecution(tx, r)
		return err
	})
	if err != nil {
		e.forgetSpec(r.ID)
		return nil, err
	}
	if existed {
		return ex, nil
	}
	if ex.State == store.StateRunning {
		e.cacheSpec(ex.ID, spec)
	}
	e.metrics.ExecutionsStarted.Inc()
	e.wake()
	return ex, nil
}

// startExecution does the work of StartExecution inside tx (r.ID must be
// set): a caller that already holds a transaction, such as a cron tick
// consuming its timer, starts the execution in the same commit. It must not
// call InTx (SQLite has one connection). The caller wakes the outbox relay
// after the commit.
func (e *Engine) startExecution(tx store.Tx, r api.StartRequest) (*store.Execution, *lang.Workflow, error) {
	return e.startExecutionOf(tx, r, nil)
}

// parentRef is the task run a sub-workflow execution runs for, and the
// root of its tree.
type parentRef struct {
	Run    controller.ParentRun
	RootID string
}

// startExecutionOf is startExecution for a sub-workflow of parent (nil for
// a top-level execution).
func (e *Engine) startExecutionOf(tx store.Tx, r api.StartRequest, parent *parentRef) (*store.Execution, *lang.Workflow, error) {
	def, err := tx.GetWorkflowDef(r.WorkflowName)
	if err != nil {
		return nil, nil, err
	}
	spec := &lang.Workflow{}
	if err := json.Unmarshal(def.Spec, spec); err != nil {
		return nil, nil, fmt.Errorf("workflow %q: stored spec: %w", def.Name, err)
	}
	input, err := normalizeObject(r.Input)
	if err != nil {
		return nil, nil, badf("input: %v", err)
	}
	params, err := normalizeObject(r.Params)
	if err != nil {
		return nil, nil, badf("params: %v", err)
	}
	if parent != nil {
		childParams(spec, input, params)
	}
	if input, err = checkInput(spec, input); err != nil {
		return nil, nil, err
	}
	// params.env: a stored environment's name becomes its variables
	// (environments.go).
	if err := resolveEnv(tx, params); err != nil {
		return nil, nil, err
	}
	if err := e.checkActions(tx, spec); err != nil {
		return nil, nil, err
	}
	if err := controller.CheckStart(spec, params); err != nil {
		return nil, nil, badf("%v", err)
	}
	inJSON, err := json.Marshal(input)
	if err != nil {
		return nil, nil, badf("input: %v", err)
	}
	paramsJSON, err := json.Marshal(params)
	if err != nil {
		return nil, nil, badf("params: %v", err)
	}
	now := time.Now().UTC()
	id := r.ID
	ex := &store.Execution{
		ID: id, WorkflowID: def.ID, WorkflowName: def.Name, Namespace: def.Namespace,
		Description: r.Description, State: store.StateRunning, Input: inJSON,
		Params: paramsJSON, Output: []byte("{}"), RootExecutionID: "", CreatedAt: now, UpdatedAt: now,
	}
	if parent != nil {
		ex.TaskExecutionID, ex.RootExecutionID = parent.Run.TaskID, parent.RootID
	}
	st := &controller.State{Spec: spec, Now: now, Exec: &controller.Execution{
		ID: id, Name: def.Name, State: store.StateRunning, Input: input, Params: params,
		RootID: ex.RootExecutionID, CreatedAt: now, UpdatedAt: now,
	}}
	if parent != nil {
		run := parent.Run
		st.Exec.Parent = &run
	}
	// The spec goes in first so the row is complete even if Start
	// changes nothing else about the execution.
	b, err := json.Marshal(execContext{Spec: spec, Parent: st.Exec.Parent})
	if err != nil {
		return nil, nil, err
	}
	ex.Context = b
	if err := tx.CreateExecution(ex); err != nil {
		return nil, nil, err
	}
	d, err := e.ctrl.Start(st)
	if err != nil {
		return nil, nil, err
	}
	if err := e.persist(tx, ex, st, d); err != nil {
		return nil, nil, err
	}
	return ex, spec, nil
}

// childParams moves what a task gives its sub-workflow but the workflow
// does not declare as input into the sub-workflow's params, as Mistral's
// WorkflowAction does: that is how a task names the task_name of a
// reverse sub-workflow.
func childParams(spec *lang.Workflow, input, params map[string]any) {
	declared := make(map[string]bool, len(spec.Input))
	for _, p := range spec.Input {
		declared[p.Name] = true
	}
	for k, v := range input {
		if !declared[k] {
			params[k] = v
			delete(input, k)
		}
	}
}

// checkInput rejects input names the workflow does not declare and
// required input that is missing, then fills in the defaults.
func checkInput(spec *lang.Workflow, input map[string]any) (map[string]any, error) {
	return checkParams(fmt.Sprintf("workflow %q", spec.Name), spec.Input, input)
}

// checkActions makes sure every action the workflow names is one some
// executor host serves (or served: its requests then wait for a host), so
// that a typo is an answer to the request, not a failed execution later.
func (e *Engine) checkActions(tx store.Tx, spec *lang.Workflow) error {
	for _, t := range spec.Tasks {
		if t.Workflow != "" || t.Action == "" || expr.HasExpr(t.Action) || expr.HasExpr(t.Target) {
			continue
		}
		if _, _, ok := e.route(t.Target, t.Action); !ok {
			if adhoc, err := isAdhoc(tx, t.Action); err != nil {
				return err
			} else if adhoc {
				continue // an ad-hoc action (adhoc.go)
			}
			return badf("workflow %q, task %q: unknown action %q: no executor host on target %q has ever served it", spec.Name, t.Name, t.Action, targetOr(t.Target))
		}
	}
	return nil
}

// GetExecution reads one execution.
func (e *Engine) GetExecution(ctx context.Context, id string) (*store.Execution, error) {
	return read(ctx, e.store, func(tx store.Tx) (*store.Execution, error) { return tx.GetExecution(id, false) })
}

// ListExecutions lists executions.
func (e *Engine) ListExecutions(ctx context.Context, o store.ListOpts) ([]*store.Execution, error) {
	return read(ctx, e.store, func(tx store.Tx) ([]*store.Execution, error) { return tx.ListExecutions(o) })
}

// ListTasks lists the task executions of one execution, oldest first.
func (e *Engine) ListTasks(ctx context.Context, executionID string) ([]*store.TaskExecution, error) {
	var out []*store.TaskExecution
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.GetExecution(executionID, false); err != nil {
			return err
		}
		var err error
		out, err = tx.ListTaskExecutions(executionID)
		return err
	})
	return out, err
}

// normalizeObject brings a decoded JSON object into the expression value
// model (int64 for whole numbers).
func normalizeObject(m map[string]any) (map[string]any, error) {
	if m == nil {
		return map[string]any{}, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return objectFromJSON(b)
}

func paramNames(ps []lang.Param) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no input"
	}
	return joinNames(s)
}
