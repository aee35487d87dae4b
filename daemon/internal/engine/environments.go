package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// Environments are Mistral's /v2/environments: named variables that an
// execution started with params {"env": "NAME"} receives. The engine
// copies them into the execution's params.env when it starts, as Mistral
// does, so the controller (env(), $.__env) and sub-workflows see a plain
// dict, and a later change or delete of the environment does not reach
// executions that already started.

var _ api.Environments = (*Engine)(nil)

// CreateEnvironment stores a new environment.
func (e *Engine) CreateEnvironment(ctx context.Context, r api.EnvironmentRequest) (*store.Environment, error) {
	env := &store.Environment{Name: r.Name, Variables: r.Variables}
	if r.Description != nil {
		env.Description = *r.Description
	}
	if r.Scope != nil {
		env.Scope = *r.Scope
	}
	if err := checkVariables(env.Name, env.Variables); err != nil {
		return nil, err
	}
	err := e.store.InTx(ctx, func(tx store.Tx) error { return tx.CreateEnvironment(env) })
	if err != nil {
		return nil, err
	}
	return env, nil
}

// UpdateEnvironment changes the fields r gives and keeps the others.
func (e *Engine) UpdateEnvironment(ctx context.Context, r api.EnvironmentRequest) (*store.Environment, error) {
	if err := checkVariables(r.Name, r.Variables); err != nil {
		return nil, err
	}
	var env *store.Environment
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if env, err = tx.GetEnvironment(r.Name); err != nil {
			return err
		}
		if r.Description != nil {
			env.Description = *r.Description
		}
		if r.Variables != nil {
			env.Variables = r.Variables
		}
		if r.Scope != nil {
			env.Scope = *r.Scope
		}
		return tx.UpdateEnvironment(env)
	})
	if err != nil {
		return nil, err
	}
	return env, nil
}

// GetEnvironment reads one environment by name.
func (e *Engine) GetEnvironment(ctx context.Context, name string) (*store.Environment, error) {
	return read(ctx, e.store, func(tx store.Tx) (*store.Environment, error) { return tx.GetEnvironment(name) })
}

// ListEnvironments pages through environments.
func (e *Engine) ListEnvironments(ctx context.Context, o store.ListOpts) ([]*store.Environment, error) {
	return read(ctx, e.store, func(tx store.Tx) ([]*store.Environment, error) { return tx.ListEnvironments(o) })
}

// DeleteEnvironment deletes an environment by name. Executions that
// started with it keep their copy; cron triggers that name it fail to
// start their next execution, as in Mistral.
func (e *Engine) DeleteEnvironment(ctx context.Context, name string) error {
	return e.store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteEnvironment(name) })
}

// checkVariables makes sure stored variables decode as an object, so a
// start never finds an environment it cannot use.
func checkVariables(name string, vars []byte) error {
	if vars == nil {
		return nil
	}
	if _, err := objectFromJSON(vars); err != nil {
		return badf("environment %q: variables: %v", name, err)
	}
	return nil
}

// resolveEnv turns params.env into the dict the execution runs with, as
// Mistral's workflow start does: the name of a stored environment becomes
// a copy of its variables, a dict stays, an empty value becomes {}; then,
// unless params.evaluate_env is false, the expressions in its values are
// evaluated with the environment itself as __env (and env()). params is
// changed in place; anything else in it is left alone.
func resolveEnv(tx store.Tx, params map[string]any) error {
	raw, ok := params["env"]
	if !ok {
		return nil
	}
	var env map[string]any
	switch v := raw.(type) {
	case map[string]any:
		env = v
	case string:
		if v == "" {
			env = map[string]any{}
			break
		}
		stored, err := tx.GetEnvironment(v)
		if errors.Is(err, store.ErrNotFound) {
			return badf("params.env: environment %q not found: create it with POST /v2/environments or give the variables as a dict", v)
		}
		if err != nil {
			return err
		}
		if env, err = objectFromJSON(stored.Variables); err != nil {
			return fmt.Errorf("environment %q: stored variables: %w", v, err)
		}
	default:
		if !expr.Truthy(raw) {
			env = map[string]any{}
			break
		}
		b, _ := json.Marshal(raw)
		return badf("params.env: %s is neither the name of an environment nor a dict of variables", b)
	}
	if ev, ok := params["evaluate_env"]; !ok || expr.Truthy(ev) {
		out, err := expr.EvalData(env, expr.MistralEnv(map[string]any{"__env": env}, envHost{env}))
		if err != nil {
			return badf("params.env: %v", err)
		}
		env = out.(map[string]any)
	}
	params["env"] = env
	return nil
}

// envHost answers Mistral's functions while params.env is evaluated,
// before the execution exists: only env() has a value there, as in
// Mistral, where the context holds nothing but __env.
type envHost struct{ env map[string]any }

func (h envHost) CurrentTask() (map[string]any, bool)             { return nil, false }
func (h envHost) TaskByName(string) (map[string]any, bool)        { return nil, false }
func (h envHost) Env() map[string]any                             { return h.env }
func (h envHost) Global(string) (any, bool)                       { return nil, false }
func (h envHost) Tasks(expr.TasksQuery) ([]map[string]any, error) { return nil, errNoExecution }
func (h envHost) Execution() (map[string]any, error)              { return nil, errNoExecution }

var errNoExecution = errors.New("params.env is evaluated before the execution exists: only env() can be used there")
