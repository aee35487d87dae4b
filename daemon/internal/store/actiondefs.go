package store

import (
	"encoding/json"
	"fmt"
)

var actionDefTable = &table{
	name: "action_definitions",
	what: "action",
	cols: []string{"id", "name", "namespace", "definition", "spec", "description", "input", "tags", "scope", "created_at", "updated_at"},
	sortable: map[string]string{
		"id": "id", "name": "name", "namespace": "namespace", "scope": "scope",
		"created_at": "created_at", "updated_at": "updated_at",
	},
	filters: map[string]string{"id": "id", "name": "name", "namespace": "namespace", "scope": "scope"},
}

const actionDefCols = "id, name, namespace, definition, spec, description, input, tags, scope, created_at, updated_at"

func scanActionDef(s scanner) (*ActionDef, error) {
	var d ActionDef
	var tags string
	if err := s.Scan(&d.ID, &d.Name, &d.Namespace, &d.Definition, &d.Spec, &d.Description, &d.Input, &tags, &d.Scope,
		timeDest{&d.CreatedAt}, timeDest{&d.UpdatedAt}); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
		return nil, fmt.Errorf("action %q: tags column: %w", d.Name, err)
	}
	if len(d.Tags) == 0 {
		d.Tags = nil
	}
	return &d, nil
}

func describeActionDef(namespace, name string) string {
	if namespace == "" {
		return fmt.Sprintf("action %q", name)
	}
	return fmt.Sprintf("action %q in namespace %q", name, namespace)
}

// CreateActionDef inserts d, giving it an id and timestamps when it has
// none; the name must be unique within its namespace (ErrConflict).
func (t *sqlTx) CreateActionDef(d *ActionDef) error {
	if d.Name == "" {
		return fmt.Errorf("store: create action: empty name")
	}
	if d.ID == "" {
		d.ID = newID()
	}
	if d.Scope == "" {
		d.Scope = "private"
	}
	stampCreate(&d.CreatedAt, &d.UpdatedAt)
	what := describeActionDef(d.Namespace, d.Name)
	tags, err := encodeTags(d.Tags)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", what, err)
	}
	return t.insert(what, "",
		"INSERT INTO action_definitions ("+actionDefCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		d.ID, d.Name, d.Namespace, d.Definition, bytesArg(d.Spec), d.Description, d.Input, tags, d.Scope,
		t.d.timeArg(d.CreatedAt), t.d.timeArg(d.UpdatedAt))
}

// UpdateActionDef rewrites the definition named by d.Name within
// d.Namespace (how Mistral's PUT /v2/actions names them) and fills d.ID
// and d.CreatedAt from the row.
func (t *sqlTx) UpdateActionDef(d *ActionDef) error {
	if d.Scope == "" {
		d.Scope = "private"
	}
	what := describeActionDef(d.Namespace, d.Name)
	tags, err := encodeTags(d.Tags)
	if err != nil {
		return fmt.Errorf("store: update %s: %w", what, err)
	}
	stampUpdate(&d.UpdatedAt)
	err = t.getOne(what, func(s scanner) error { return s.Scan(&d.ID, timeDest{&d.CreatedAt}) },
		"UPDATE action_definitions SET definition = ?, spec = ?, description = ?, input = ?, tags = ?, scope = ?, updated_at = ?"+
			" WHERE name = ? AND namespace = ? RETURNING id, created_at",
		d.Definition, bytesArg(d.Spec), d.Description, d.Input, tags, d.Scope, t.d.timeArg(d.UpdatedAt), d.Name, d.Namespace)
	if err != nil && t.d.classify(err) != noViolation {
		return t.wrapWrite(err, what, "")
	}
	return err
}

// GetActionDef finds a definition by id or by name in the default
// namespace, as Mistral's GET /v2/actions/{identifier} does.
func (t *sqlTx) GetActionDef(identifier string) (*ActionDef, error) {
	var d *ActionDef
	err := t.getOne(describeActionDef("", identifier), func(s scanner) (err error) { d, err = scanActionDef(s); return err },
		"SELECT "+actionDefCols+" FROM action_definitions WHERE id = ? OR (name = ? AND namespace = '')"+
			" ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END LIMIT 1", identifier, identifier, identifier)
	return d, err
}

// ListActionDefs pages through definitions; see ListOpts.
func (t *sqlTx) ListActionDefs(o ListOpts) ([]*ActionDef, error) {
	return list(t, actionDefTable, o, scanActionDef)
}

// DeleteActionDef deletes a definition by id or by name in the default
// namespace, matching GetActionDef.
func (t *sqlTx) DeleteActionDef(identifier string) error {
	res, err := t.exec("DELETE FROM action_definitions WHERE id = ? OR (name = ? AND namespace = '')", identifier, identifier)
	return t.deleted(describeActionDef("", identifier), res, err)
}
