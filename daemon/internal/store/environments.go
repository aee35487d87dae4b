package store

import (
	"fmt"
	"time"
)

// Environment is a named set of variables that an execution reads through
// env() and $.__env, as Mistral's /v2/environments keeps them: a start
// request names it in params.env and the engine copies its variables into
// the execution's params, so a later change of the environment does not
// reach executions that already started.
type Environment struct {
	ID          string
	Name        string // unique; Mistral names environments only by name
	Description string
	Variables   []byte // JSON object; nil when none were given (null on the wire)
	Scope       string // "private" or "public"
	CreatedAt   time.Time
	UpdatedAt   time.Time // zero until the first update (null on the wire)
}

// EnvironmentTx is the part of Tx that keeps environments.
type EnvironmentTx interface {
	// CreateEnvironment inserts e, giving it an id and CreatedAt when it
	// has none; the name is unique (ErrConflict).
	CreateEnvironment(e *Environment) error
	// GetEnvironment finds an environment by name.
	GetEnvironment(name string) (*Environment, error)
	ListEnvironments(o ListOpts) ([]*Environment, error)
	// UpdateEnvironment writes the description, variables and scope of
	// the environment e.Name names, stamps UpdatedAt and fills e.ID and
	// e.CreatedAt from the row.
	UpdateEnvironment(e *Environment) error
	// DeleteEnvironment deletes an environment by name.
	DeleteEnvironment(name string) error
}

var environmentTable = &table{
	name: "environments",
	what: "environment",
	cols: []string{"id", "name", "description", "variables", "scope", "created_at", "updated_at"},
	// updated_at may be NULL, so it is not sortable (see cronTriggerTable).
	sortable: map[string]string{
		"id": "id", "name": "name", "description": "description", "scope": "scope", "created_at": "created_at",
	},
	filters: map[string]string{"id": "id", "name": "name", "description": "description", "scope": "scope"},
}

const environmentCols = "id, name, description, variables, scope, created_at, updated_at"

func scanEnvironment(s scanner) (*Environment, error) {
	var e Environment
	if err := s.Scan(&e.ID, &e.Name, &e.Description, &e.Variables, &e.Scope,
		timeDest{&e.CreatedAt}, timeDest{&e.UpdatedAt}); err != nil {
		return nil, err
	}
	return &e, nil
}

func describeEnvironment(name string) string { return fmt.Sprintf("environment %q", name) }

// CreateEnvironment inserts e. UpdatedAt stays as given (normally zero:
// Mistral shows null until the first update).
func (t *sqlTx) CreateEnvironment(e *Environment) error {
	if e.Name == "" {
		return fmt.Errorf("store: create environment: empty name")
	}
	if e.ID == "" {
		e.ID = newID()
	}
	if e.Scope == "" {
		e.Scope = "private"
	}
	stampCreateOnly(&e.CreatedAt, &e.UpdatedAt)
	return t.insert(describeEnvironment(e.Name), "",
		"INSERT INTO environments ("+environmentCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		e.ID, e.Name, e.Description, bytesArg(e.Variables), e.Scope,
		t.d.timeArg(e.CreatedAt), t.d.nullTimeArg(e.UpdatedAt))
}

// GetEnvironment reads the environment called name.
func (t *sqlTx) GetEnvironment(name string) (*Environment, error) {
	var e *Environment
	err := t.getOne(describeEnvironment(name), func(s scanner) (err error) { e, err = scanEnvironment(s); return err },
		"SELECT "+environmentCols+" FROM environments WHERE name = ?", name)
	return e, err
}

// ListEnvironments pages through environments; see ListOpts.
func (t *sqlTx) ListEnvironments(o ListOpts) ([]*Environment, error) {
	return list(t, environmentTable, o, scanEnvironment)
}

// UpdateEnvironment rewrites the environment e.Name names.
func (t *sqlTx) UpdateEnvironment(e *Environment) error {
	if e.Scope == "" {
		e.Scope = "private"
	}
	stampUpdate(&e.UpdatedAt)
	what := describeEnvironment(e.Name)
	err := t.getOne(what, func(s scanner) error { return s.Scan(&e.ID, timeDest{&e.CreatedAt}) },
		"UPDATE environments SET description = ?, variables = ?, scope = ?, updated_at = ? WHERE name = ? RETURNING id, created_at",
		e.Description, bytesArg(e.Variables), e.Scope, t.d.timeArg(e.UpdatedAt), e.Name)
	if err != nil && t.d.classify(err) != noViolation {
		return t.wrapWrite(err, what, "")
	}
	return err
}

// DeleteEnvironment deletes the environment called name.
func (t *sqlTx) DeleteEnvironment(name string) error {
	res, err := t.exec("DELETE FROM environments WHERE name = ?", name)
	return t.deleted(describeEnvironment(name), res, err)
}

// stampCreateOnly fills CreatedAt (default now) of a new row whose
// UpdatedAt means "last updated", zero until then; both are normalised to
// what the database will return.
func stampCreateOnly(created, updated *time.Time) {
	if created.IsZero() {
		*created = time.Now()
	}
	*created = normTime(*created)
	if !updated.IsZero() {
		*updated = normTime(*updated)
	}
}
