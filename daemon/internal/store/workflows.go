package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// newID is the id the store gives a row created without one: a UUID, like
// Mistral's.
func newID() string { return uuid.NewString() }

// stampCreate fills the timestamps of a new row: CreatedAt defaults to now
// and UpdatedAt to CreatedAt; both are normalised to what the database will
// return, so the caller's struct equals a later read.
func stampCreate(created, updated *time.Time) {
	if created.IsZero() {
		*created = time.Now()
	}
	*created = normTime(*created)
	if updated.IsZero() {
		*updated = *created
	}
	*updated = normTime(*updated)
}

// stampUpdate sets UpdatedAt: it records when the store last wrote the row.
func stampUpdate(updated *time.Time) { *updated = normTime(time.Now()) }

var workflowTable = &table{
	name: "workflow_definitions",
	what: "workflow",
	cols: []string{"id", "name", "namespace", "definition", "spec", "input", "tags", "scope", "created_at", "updated_at"},
	sortable: map[string]string{
		"id": "id", "name": "name", "namespace": "namespace", "scope": "scope",
		"created_at": "created_at", "updated_at": "updated_at",
	},
	filters: map[string]string{"id": "id", "name": "name", "namespace": "namespace", "scope": "scope"},
}

const workflowCols = "id, name, namespace, definition, spec, input, tags, scope, created_at, updated_at"

func scanWorkflowDef(s scanner) (*WorkflowDef, error) {
	var d WorkflowDef
	var tags string
	if err := s.Scan(&d.ID, &d.Name, &d.Namespace, &d.Definition, &d.Spec, &d.Input, &tags, &d.Scope,
		timeDest{&d.CreatedAt}, timeDest{&d.UpdatedAt}); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
		return nil, fmt.Errorf("workflow %q: tags column: %w", d.Name, err)
	}
	if len(d.Tags) == 0 {
		d.Tags = nil
	}
	return &d, nil
}

func encodeTags(tags []string) (string, error) {
	if len(tags) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return "", fmt.Errorf("encode tags: %w", err)
	}
	return string(b), nil
}

func describeWorkflow(namespace, name string) string {
	if namespace == "" {
		return fmt.Sprintf("workflow %q", name)
	}
	return fmt.Sprintf("workflow %q in namespace %q", name, namespace)
}

// CreateWorkflowDef inserts d, giving it an id and timestamps when it has
// none; the name must be unique within its namespace (ErrConflict).
func (t *sqlTx) CreateWorkflowDef(d *WorkflowDef) error {
	if d.Name == "" {
		return fmt.Errorf("store: create workflow: empty name")
	}
	if d.ID == "" {
		d.ID = newID()
	}
	if d.Scope == "" {
		d.Scope = "private"
	}
	stampCreate(&d.CreatedAt, &d.UpdatedAt)
	tags, err := encodeTags(d.Tags)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", describeWorkflow(d.Namespace, d.Name), err)
	}
	return t.insert(describeWorkflow(d.Namespace, d.Name), "",
		"INSERT INTO workflow_definitions ("+workflowCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		d.ID, d.Name, d.Namespace, d.Definition, bytesArg(d.Spec), d.Input, tags, d.Scope,
		t.d.timeArg(d.CreatedAt), t.d.timeArg(d.UpdatedAt))
}

// UpdateWorkflowDef rewrites the definition identified by d.ID, or, when
// d.ID is empty, by d.Name within d.Namespace (how Mistral's PUT
// /v2/workflows names them). It fills d.ID and d.CreatedAt from the row.
func (t *sqlTx) UpdateWorkflowDef(d *WorkflowDef) error {
	if d.Scope == "" {
		d.Scope = "private"
	}
	tags, err := encodeTags(d.Tags)
	if err != nil {
		return fmt.Errorf("store: update %s: %w", describeWorkflow(d.Namespace, d.Name), err)
	}
	stampUpdate(&d.UpdatedAt)
	set := "UPDATE workflow_definitions SET definition = ?, spec = ?, input = ?, tags = ?, scope = ?, updated_at = ?"
	args := []any{d.Definition, bytesArg(d.Spec), d.Input, tags, d.Scope, t.d.timeArg(d.UpdatedAt)}
	what := describeWorkflow(d.Namespace, d.Name)
	var q string
	if d.ID != "" {
		// By id the name and namespace may change too.
		q = set + ", name = ?, namespace = ? WHERE id = ? RETURNING id, created_at"
		args = append(args, d.Name, d.Namespace, d.ID)
	} else {
		q = set + " WHERE name = ? AND namespace = ? RETURNING id, created_at"
		args = append(args, d.Name, d.Namespace)
	}
	err = t.getOne(what, func(s scanner) error { return s.Scan(&d.ID, timeDest{&d.CreatedAt}) }, q, args...)
	if err != nil && t.d.classify(err) != noViolation {
		return t.wrapWrite(err, what, "")
	}
	return err
}

// GetWorkflowDef finds a definition by id or by name in the default
// namespace (""), as Mistral's GET /v2/workflows/{identifier} does when no
// namespace is given.
func (t *sqlTx) GetWorkflowDef(name string) (*WorkflowDef, error) {
	var d *WorkflowDef
	err := t.getOne(describeWorkflow("", name), func(s scanner) (err error) { d, err = scanWorkflowDef(s); return err },
		"SELECT "+workflowCols+" FROM workflow_definitions WHERE id = ? OR (name = ? AND namespace = '')"+
			" ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END LIMIT 1", name, name, name)
	return d, err
}

// GetWorkflowDefInNamespace finds a definition by name within namespace, for
// callers (the engine starting an execution, the API with ?namespace=) that
// know both parts of the unique key.
func (t *sqlTx) GetWorkflowDefInNamespace(namespace, name string) (*WorkflowDef, error) {
	var d *WorkflowDef
	err := t.getOne(describeWorkflow(namespace, name), func(s scanner) (err error) { d, err = scanWorkflowDef(s); return err },
		"SELECT "+workflowCols+" FROM workflow_definitions WHERE name = ? AND namespace = ?", name, namespace)
	return d, err
}

// ListWorkflowDefs pages through definitions; see ListOpts.
func (t *sqlTx) ListWorkflowDefs(o ListOpts) ([]*WorkflowDef, error) {
	return list(t, workflowTable, o, scanWorkflowDef)
}

// DeleteWorkflowDef deletes a definition by id or by name in the default
// namespace, matching GetWorkflowDef.
func (t *sqlTx) DeleteWorkflowDef(name string) error {
	res, err := t.exec("DELETE FROM workflow_definitions WHERE id = ? OR (name = ? AND namespace = '')", name, name)
	return t.deleted(describeWorkflow("", name), res, err)
}

// DeleteWorkflowDefInNamespace deletes a definition by name within namespace.
func (t *sqlTx) DeleteWorkflowDefInNamespace(namespace, name string) error {
	res, err := t.exec("DELETE FROM workflow_definitions WHERE name = ? AND namespace = ?", name, namespace)
	return t.deleted(describeWorkflow(namespace, name), res, err)
}
