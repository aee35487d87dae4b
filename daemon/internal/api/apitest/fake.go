// Package apitest provides an in-memory api.Backend for tests of the HTTP
// API and of its clients (the CLI). It is deliberately small and
// predictable: it parses just enough YAML to find workflow names and
// inputs, never runs anything, and lets a test script state changes. The
// end-to-end tests use the real engine instead.
package apitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// BadRequestError is the fake's caller-error class, recognised by the API
// through its BadRequest method, as the engine's parse errors will be.
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return e.Msg }

// BadRequest marks the error as the caller's fault (HTTP 400).
func (e *BadRequestError) BadRequest() bool { return true }

// Fake is an in-memory api.Backend. The zero value is not ready: use New.
// Exported fields may be read and set by tests while holding no lock only
// when no request is in flight.
type Fake struct {
	mu         sync.Mutex
	workflows  []*store.WorkflowDef
	executions []*store.Execution
	tasks      map[string][]*store.TaskExecution
	envs       []*store.Environment // definitions.go
	workbooks  []*store.Workbook    // definitions.go
	seq        int

	// Now is the clock; fixed by default so answers are reproducible.
	Now func() time.Time
	// Err, when set, is returned by every call (to test error mapping).
	Err error
	// OnGet runs under the fake's lock on every GetExecution, so a test
	// can move an execution along (RUNNING, then SUCCESS) as a client polls.
	OnGet func(e *store.Execution)
	// LastList is the ListOpts of the latest List call; LastStart the
	// latest StartRequest.
	LastList  store.ListOpts
	LastStart api.StartRequest
}

var _ api.Backend = (*Fake)(nil)

// New returns an empty fake whose clock reads 2026-11-30 12:00:00 UTC.
func New() *Fake {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	return &Fake{tasks: map[string][]*store.TaskExecution{}, Now: func() time.Time { return t0 }}
}

func (f *Fake) newID() string {
	f.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", f.seq)
}

// CreateWorkflows stores every top-level key but "version" as a workflow.
func (f *Fake) CreateWorkflows(_ context.Context, definition string) ([]*store.WorkflowDef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(definition), &doc); err != nil {
		return nil, &BadRequestError{Msg: "invalid workflow definition: " + err.Error()}
	}
	if v, _ := doc["version"].(string); v != "2.0" {
		return nil, &BadRequestError{Msg: `invalid workflow definition: version must be "2.0"`}
	}
	names := make([]string, 0, len(doc))
	for k := range doc {
		if k != "version" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var out []*store.WorkflowDef
	for _, name := range names {
		if f.findWorkflow(name) != nil {
			return nil, fmt.Errorf("workflow %q: %w", name, store.ErrConflict)
		}
		body, _ := doc[name].(map[string]any)
		spec, _ := json.Marshal(map[string]any{"input": body["input"], "output": body["output"]})
		now := f.Now()
		d := &store.WorkflowDef{
			ID: f.newID(), Name: name, Definition: definition, Spec: spec,
			Input: inputSummary(body["input"]), Scope: "private", CreatedAt: now,
		}
		out = append(out, d)
	}
	f.workflows = append(f.workflows, out...)
	return out, nil
}

func inputSummary(v any) string {
	list, _ := v.([]any)
	parts := make([]string, 0, len(list))
	for _, p := range list {
		switch x := p.(type) {
		case string:
			parts = append(parts, x)
		case map[string]any:
			for k, d := range x {
				parts = append(parts, fmt.Sprintf("%s=%q", k, fmt.Sprint(d)))
			}
		}
	}
	return strings.Join(parts, ", ")
}

func (f *Fake) findWorkflow(nameOrID string) *store.WorkflowDef {
	for _, d := range f.workflows {
		if d.Name == nameOrID || d.ID == nameOrID {
			return d
		}
	}
	return nil
}

// GetWorkflow finds a workflow by name or id.
func (f *Fake) GetWorkflow(_ context.Context, name string) (*store.WorkflowDef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	if d := f.findWorkflow(name); d != nil {
		c := *d
		return &c, nil
	}
	return nil, fmt.Errorf("workflow %q: %w", name, store.ErrNotFound)
}

// ListWorkflows pages by marker and limit in creation order.
func (f *Fake) ListWorkflows(_ context.Context, o store.ListOpts) ([]*store.WorkflowDef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.LastList = o
	if f.Err != nil {
		return nil, f.Err
	}
	return page(f.workflows, o, func(d *store.WorkflowDef) string { return d.ID }), nil
}

func page[T any](all []*T, o store.ListOpts, id func(*T) string) []*T {
	start := 0
	if o.Marker != "" {
		for i, x := range all {
			if id(x) == o.Marker {
				start = i + 1
			}
		}
	}
	out := make([]*T, 0, len(all))
	for _, x := range all[start:] {
		if o.Limit > 0 && len(out) == o.Limit {
			break
		}
		c := *x
		out = append(out, &c)
	}
	return out
}

// StartExecution records a RUNNING execution. Input keys the workflow does
// not declare are a BadRequestError, as in Mistral.
func (f *Fake) StartExecution(_ context.Context, r api.StartRequest) (*store.Execution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.LastStart = r
	if f.Err != nil {
		return nil, f.Err
	}
	d := f.findWorkflow(r.WorkflowName)
	if d == nil {
		return nil, fmt.Errorf("workflow %q: %w", r.WorkflowName, store.ErrNotFound)
	}
	declared := map[string]bool{}
	for _, p := range strings.Split(d.Input, ", ") {
		declared[strings.SplitN(p, "=", 2)[0]] = true
	}
	for k := range r.Input {
		if !declared[k] {
			return nil, &BadRequestError{Msg: fmt.Sprintf("workflow %q has no input %q", d.Name, k)}
		}
	}
	id := r.ID
	if id == "" {
		id = f.newID()
	}
	for _, e := range f.executions {
		if e.ID == id {
			return nil, fmt.Errorf("execution %q: %w", id, store.ErrConflict)
		}
	}
	in, _ := json.Marshal(orEmpty(r.Input))
	params, _ := json.Marshal(orEmpty(r.Params))
	now := f.Now()
	e := &store.Execution{
		ID: id, WorkflowID: d.ID, WorkflowName: d.Name, Namespace: d.Namespace,
		Description: r.Description, State: store.StateRunning,
		Input: in, Params: params, CreatedAt: now, UpdatedAt: now,
	}
	f.executions = append(f.executions, e)
	c := *e
	return &c, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// GetExecution returns a copy of the execution, after OnGet has run.
func (f *Fake) GetExecution(_ context.Context, id string) (*store.Execution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	for _, e := range f.executions {
		if e.ID == id {
			if f.OnGet != nil {
				f.OnGet(e)
			}
			c := *e
			return &c, nil
		}
	}
	return nil, fmt.Errorf("execution %q: %w", id, store.ErrNotFound)
}

// ListExecutions pages by marker and limit in creation order.
func (f *Fake) ListExecutions(_ context.Context, o store.ListOpts) ([]*store.Execution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.LastList = o
	if f.Err != nil {
		return nil, f.Err
	}
	return page(f.executions, o, func(e *store.Execution) string { return e.ID }), nil
}

// ListTasks returns the tasks added with AddTask.
func (f *Fake) ListTasks(_ context.Context, executionID string) ([]*store.TaskExecution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	found := false
	for _, e := range f.executions {
		found = found || e.ID == executionID
	}
	if !found {
		return nil, fmt.Errorf("execution %q: %w", executionID, store.ErrNotFound)
	}
	return page(f.tasks[executionID], store.ListOpts{}, func(t *store.TaskExecution) string { return t.ID }), nil
}

// AddTask records a task execution of an existing execution.
func (f *Fake) AddTask(t *store.TaskExecution) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.ID == "" {
		t.ID = f.newID()
	}
	f.tasks[t.ExecutionID] = append(f.tasks[t.ExecutionID], t)
}

// Update changes a stored execution under the fake's lock.
func (f *Fake) Update(id string, fn func(e *store.Execution)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.executions {
		if e.ID == id {
			fn(e)
			return nil
		}
	}
	return errors.New("no execution " + id)
}
