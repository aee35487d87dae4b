package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// Workbook is a stored workbook (Mistral's /v2/workbooks): the document
// the user sent, verbatim. The workflows it defines are WorkflowDefs named
// "<workbook>.<workflow>", written together with it; as in Mistral they
// are not owned by the row, so deleting the workbook leaves them.
type Workbook struct {
	ID         string
	Name       string
	Namespace  string
	Definition string
	Tags       []string
	Scope      string // "private" or "public"
	CreatedAt  time.Time
	UpdatedAt  time.Time // zero until the first update (null on the wire)
}

// WorkbookTx is the part of Tx that keeps workbooks.
type WorkbookTx interface {
	// CreateWorkbook inserts w, giving it an id and CreatedAt when it has
	// none; the name is unique within its namespace (ErrConflict).
	CreateWorkbook(w *Workbook) error
	// GetWorkbook finds a workbook by its unique key.
	GetWorkbook(namespace, name string) (*Workbook, error)
	ListWorkbooks(o ListOpts) ([]*Workbook, error)
	// UpdateWorkbook writes the definition, tags and scope of the workbook
	// w.Name names in w.Namespace, stamps UpdatedAt and fills w.ID and
	// w.CreatedAt from the row.
	UpdateWorkbook(w *Workbook) error
	// DeleteWorkbook deletes a workbook by its unique key.
	DeleteWorkbook(namespace, name string) error
}

var workbookTable = &table{
	name: "workbooks",
	what: "workbook",
	cols: []string{"id", "name", "namespace", "definition", "tags", "scope", "created_at", "updated_at"},
	// updated_at may be NULL, so it is not sortable (see cronTriggerTable).
	sortable: map[string]string{
		"id": "id", "name": "name", "namespace": "namespace", "scope": "scope", "created_at": "created_at",
	},
	filters: map[string]string{"id": "id", "name": "name", "namespace": "namespace", "scope": "scope"},
}

const workbookCols = "id, name, namespace, definition, tags, scope, created_at, updated_at"

func scanWorkbook(s scanner) (*Workbook, error) {
	var w Workbook
	var tags string
	if err := s.Scan(&w.ID, &w.Name, &w.Namespace, &w.Definition, &tags, &w.Scope,
		timeDest{&w.CreatedAt}, timeDest{&w.UpdatedAt}); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &w.Tags); err != nil {
		return nil, fmt.Errorf("workbook %q: tags column: %w", w.Name, err)
	}
	if len(w.Tags) == 0 {
		w.Tags = nil
	}
	return &w, nil
}

func describeWorkbook(namespace, name string) string {
	if namespace == "" {
		return fmt.Sprintf("workbook %q", name)
	}
	return fmt.Sprintf("workbook %q in namespace %q", name, namespace)
}

// CreateWorkbook inserts w. UpdatedAt stays as given (normally zero).
func (t *sqlTx) CreateWorkbook(w *Workbook) error {
	if w.Name == "" {
		return fmt.Errorf("store: create workbook: empty name")
	}
	if w.ID == "" {
		w.ID = newID()
	}
	if w.Scope == "" {
		w.Scope = "private"
	}
	stampCreateOnly(&w.CreatedAt, &w.UpdatedAt)
	what := describeWorkbook(w.Namespace, w.Name)
	tags, err := encodeTags(w.Tags)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", what, err)
	}
	return t.insert(what, "",
		"INSERT INTO workbooks ("+workbookCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		w.ID, w.Name, w.Namespace, w.Definition, tags, w.Scope,
		t.d.timeArg(w.CreatedAt), t.d.nullTimeArg(w.UpdatedAt))
}

// GetWorkbook reads the workbook called name in namespace.
func (t *sqlTx) GetWorkbook(namespace, name string) (*Workbook, error) {
	var w *Workbook
	err := t.getOne(describeWorkbook(namespace, name), func(s scanner) (err error) { w, err = scanWorkbook(s); return err },
		"SELECT "+workbookCols+" FROM workbooks WHERE name = ? AND namespace = ?", name, namespace)
	return w, err
}

// ListWorkbooks pages through workbooks; see ListOpts.
func (t *sqlTx) ListWorkbooks(o ListOpts) ([]*Workbook, error) {
	return list(t, workbookTable, o, scanWorkbook)
}

// UpdateWorkbook rewrites the workbook w.Name names in w.Namespace.
func (t *sqlTx) UpdateWorkbook(w *Workbook) error {
	if w.Scope == "" {
		w.Scope = "private"
	}
	what := describeWorkbook(w.Namespace, w.Name)
	tags, err := encodeTags(w.Tags)
	if err != nil {
		return fmt.Errorf("store: update %s: %w", what, err)
	}
	stampUpdate(&w.UpdatedAt)
	err = t.getOne(what, func(s scanner) error { return s.Scan(&w.ID, timeDest{&w.CreatedAt}) },
		"UPDATE workbooks SET definition = ?, tags = ?, scope = ?, updated_at = ? WHERE name = ? AND namespace = ? RETURNING id, created_at",
		w.Definition, tags, w.Scope, t.d.timeArg(w.UpdatedAt), w.Name, w.Namespace)
	if err != nil && t.d.classify(err) != noViolation {
		return t.wrapWrite(err, what, "")
	}
	return err
}

// DeleteWorkbook deletes the workbook called name in namespace.
func (t *sqlTx) DeleteWorkbook(namespace, name string) error {
	res, err := t.exec("DELETE FROM workbooks WHERE name = ? AND namespace = ?", name, namespace)
	return t.deleted(describeWorkbook(namespace, name), res, err)
}
