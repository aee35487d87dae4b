package apitest

import (
	"context"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// The fake's environments and workbooks: kept in memory, in creation
// order. A workbook is read only for its name and tags; its workflows are
// not created (the engine's tests cover that).

var (
	_ api.Environments = (*Fake)(nil)
	_ api.Workbooks    = (*Fake)(nil)
)

// CreateEnvironment stores a new environment; a taken name is
// store.ErrConflict.
func (f *Fake) CreateEnvironment(_ context.Context, r api.EnvironmentRequest) (*store.Environment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	if f.findEnv(r.Name) != nil {
		return nil, fmt.Errorf("environment %q: %w", r.Name, store.ErrConflict)
	}
	e := &store.Environment{ID: f.newID(), Name: r.Name, Variables: r.Variables, Scope: "private", CreatedAt: f.Now()}
	applyEnv(e, r)
	f.envs = append(f.envs, e)
	c := *e
	return &c, nil
}

// UpdateEnvironment changes the fields r gives.
func (f *Fake) UpdateEnvironment(_ context.Context, r api.EnvironmentRequest) (*store.Environment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	e := f.findEnv(r.Name)
	if e == nil {
		return nil, fmt.Errorf("environment %q: %w", r.Name, store.ErrNotFound)
	}
	applyEnv(e, r)
	e.UpdatedAt = f.Now()
	c := *e
	return &c, nil
}

func applyEnv(e *store.Environment, r api.EnvironmentRequest) {
	if r.Description != nil {
		e.Description = *r.Description
	}
	if r.Variables != nil {
		e.Variables = r.Variables
	}
	if r.Scope != nil {
		e.Scope = *r.Scope
	}
}

func envName(e *store.Environment) string { return e.Name }

func (f *Fake) findEnv(name string) *store.Environment { return findNamed(f.envs, name, envName) }

// GetEnvironment finds an environment by name.
func (f *Fake) GetEnvironment(_ context.Context, name string) (*store.Environment, error) {
	return getNamed(f, &f.envs, "environment", name, envName)
}

// ListEnvironments pages by marker and limit in creation order.
func (f *Fake) ListEnvironments(_ context.Context, o store.ListOpts) ([]*store.Environment, error) {
	return listLocked(f, &f.envs, o, func(e *store.Environment) string { return e.ID })
}

// DeleteEnvironment deletes an environment by name.
func (f *Fake) DeleteEnvironment(_ context.Context, name string) error {
	return deleteNamed(f, &f.envs, "environment", name, envName)
}

// parseWorkbook reads a workbook's name and tags.
func parseWorkbook(definition string) (name string, tags []string, err error) {
	var doc struct {
		Name string   `yaml:"name"`
		Tags []string `yaml:"tags"`
	}
	if err := yaml.Unmarshal([]byte(definition), &doc); err != nil {
		return "", nil, &BadRequestError{Msg: "invalid workbook definition: " + err.Error()}
	}
	if doc.Name == "" {
		return "", nil, &BadRequestError{Msg: "invalid workbook definition: missing required key 'name'"}
	}
	return doc.Name, doc.Tags, nil
}

func workbookName(w *store.Workbook) string { return w.Name }

func (f *Fake) findWorkbook(name string) *store.Workbook {
	return findNamed(f.workbooks, name, workbookName)
}

// CreateWorkbook stores a workbook; a taken name is store.ErrConflict.
func (f *Fake) CreateWorkbook(_ context.Context, definition, scope string) (*store.Workbook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	name, tags, err := parseWorkbook(definition)
	if err != nil {
		return nil, err
	}
	if f.findWorkbook(name) != nil {
		return nil, fmt.Errorf("workbook %q: %w", name, store.ErrConflict)
	}
	w := &store.Workbook{ID: f.newID(), Name: name, Definition: definition, Tags: tags, Scope: scope, CreatedAt: f.Now()}
	f.workbooks = append(f.workbooks, w)
	c := *w
	return &c, nil
}

// UpdateWorkbook replaces the workbook the document names.
func (f *Fake) UpdateWorkbook(_ context.Context, definition, scope string) (*store.Workbook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	name, tags, err := parseWorkbook(definition)
	if err != nil {
		return nil, err
	}
	w := f.findWorkbook(name)
	if w == nil {
		return nil, fmt.Errorf("workbook %q: %w", name, store.ErrNotFound)
	}
	w.Definition, w.Tags, w.Scope, w.UpdatedAt = definition, tags, scope, f.Now()
	c := *w
	return &c, nil
}

// GetWorkbook finds a workbook by name.
func (f *Fake) GetWorkbook(_ context.Context, name string) (*store.Workbook, error) {
	return getNamed(f, &f.workbooks, "workbook", name, workbookName)
}

// ListWorkbooks pages by marker and limit in creation order.
func (f *Fake) ListWorkbooks(_ context.Context, o store.ListOpts) ([]*store.Workbook, error) {
	return listLocked(f, &f.workbooks, o, func(w *store.Workbook) string { return w.ID })
}

// DeleteWorkbook deletes a workbook by name.
func (f *Fake) DeleteWorkbook(_ context.Context, name string) error {
	return deleteNamed(f, &f.workbooks, "workbook", name, workbookName)
}

// listLocked is page under the fake's lock, recording o as LastList.
func listLocked[T any](f *Fake, list *[]*T, o store.ListOpts, id func(*T) string) ([]*T, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.LastList = o
	if f.Err != nil {
		return nil, f.Err
	}
	return page(*list, o, id), nil
}

func findNamed[T any](list []*T, name string, nameOf func(*T) string) *T {
	for _, x := range list {
		if nameOf(x) == name {
			return x
		}
	}
	return nil
}

// getNamed returns a copy of the item of *list called name.
func getNamed[T any](f *Fake, list *[]*T, what, name string, nameOf func(*T) string) (*T, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	if x := findNamed(*list, name, nameOf); x != nil {
		c := *x
		return &c, nil
	}
	return nil, fmt.Errorf("%s %q: %w", what, name, store.ErrNotFound)
}

// deleteNamed removes the item of *list called name.
func deleteNamed[T any](f *Fake, list *[]*T, what, name string, nameOf func(*T) string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return f.Err
	}
	for i, x := range *list {
		if nameOf(x) == name {
			*list = append((*list)[:i], (*list)[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("%s %q: %w", what, name, store.ErrNotFound)
}
