package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// Workbooks are Mistral's /v2/workbooks: a document that bundles
// workflows and ad-hoc actions under a name. As in Mistral, the workbook
// row keeps the document, and each workflow and action becomes an
// ordinary definition named "<workbook>.<name>" whose text is its own
// part of the document; creating or updating the workbook creates or
// replaces them, so POST /v2/executions with "<workbook>.<workflow>" runs
// one like any other workflow. Mistral does not tie them to the workbook
// row: a definition the new document no longer has stays, and so do all
// of them when the workbook is deleted.

var _ api.Workbooks = (*Engine)(nil)

// workbookRows is a parsed workbook as the rows it writes.
type workbookRows struct {
	wb        *store.Workbook
	workflows []*store.WorkflowDef
	actions   []*store.ActionDef
}

// workbookRows parses and validates a workbook into store rows.
func (e *Engine) workbookRows(definition, scope string) (*workbookRows, error) {
	wb, err := parseWorkbook(definition)
	if err != nil {
		return nil, err
	}
	rows := &workbookRows{wb: &store.Workbook{Name: wb.Name, Definition: definition, Tags: wb.Tags, Scope: scope}}
	for _, w := range wb.Workflows {
		d, err := workflowDefRow(w, itemText(definition, w.Line, w.Col), scope)
		if err != nil {
			return nil, err
		}
		rows.workflows = append(rows.workflows, d)
	}
	for _, a := range wb.Actions {
		d, err := e.actionDefRow(a, itemText(definition, a.Line, a.Col), scope)
		if err != nil {
			return nil, fmt.Errorf("workbook %q: %w", wb.Name, err)
		}
		rows.actions = append(rows.actions, d)
	}
	return rows, nil
}

// CreateWorkbook stores a new workbook with its workflows and actions, in
// one transaction.
func (e *Engine) CreateWorkbook(ctx context.Context, definition, scope string) (*store.Workbook, error) {
	rows, err := e.workbookRows(definition, scope)
	if err != nil {
		return nil, err
	}
	err = e.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateWorkbook(rows.wb); err != nil {
			return err
		}
		return rows.writeItems(tx)
	})
	if err != nil {
		return nil, err
	}
	return rows.wb, nil
}

// UpdateWorkbook replaces the workbook the document names, and creates or
// replaces its workflows and actions, in one transaction. A workbook whose
// document, tags and scope are unchanged keeps its updated_at, as in
// Mistral.
func (e *Engine) UpdateWorkbook(ctx context.Context, definition, scope string) (*store.Workbook, error) {
	rows, err := e.workbookRows(definition, scope)
	if err != nil {
		return nil, err
	}
	err = e.store.InTx(ctx, func(tx store.Tx) error {
		old, err := tx.GetWorkbook("", rows.wb.Name)
		if err != nil {
			return fmt.Errorf("%w (PUT replaces an existing workbook; POST creates one)", err)
		}
		if old.Definition == rows.wb.Definition && slices.Equal(old.Tags, rows.wb.Tags) && old.Scope == rows.wb.Scope {
			rows.wb = old
		} else if err := tx.UpdateWorkbook(rows.wb); err != nil {
			return err
		}
		return rows.writeItems(tx)
	})
	if err != nil {
		return nil, err
	}
	return rows.wb, nil
}

// writeItems creates each workflow and action of the workbook, or
// replaces the one of that name; one whose row would not change is left
// alone, so its updated_at stays.
func (rows *workbookRows) writeItems(tx store.Tx) error {
	for _, d := range rows.workflows {
		old, err := tx.GetWorkflowDefInNamespace("", d.Name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			err = tx.CreateWorkflowDef(d)
		case err != nil:
		case old.Definition == d.Definition && bytes.Equal(old.Spec, d.Spec) && old.Input == d.Input &&
			slices.Equal(old.Tags, d.Tags) && old.Scope == d.Scope:
			*d = *old
		default:
			d.ID = old.ID
			err = tx.UpdateWorkflowDef(d)
		}
		if err != nil {
			return fmt.Errorf("workbook %q: %w", rows.wb.Name, err)
		}
	}
	for _, a := range rows.actions {
		old, err := tx.GetActionDef(a.Name)
		if err == nil && old.Name != a.Name {
			err = fmt.Errorf("action %q: %w", a.Name, store.ErrNotFound) // a.Name is another action's id
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			err = tx.CreateActionDef(a)
		case err != nil:
		case old.Definition == a.Definition && bytes.Equal(old.Spec, a.Spec) && old.Description == a.Description &&
			old.Input == a.Input && slices.Equal(old.Tags, a.Tags) && old.Scope == a.Scope:
			*a = *old
		default:
			err = tx.UpdateActionDef(a)
		}
		if err != nil {
			return fmt.Errorf("workbook %q: %w", rows.wb.Name, err)
		}
	}
	return nil
}

// GetWorkbook reads one workbook of the default namespace by name.
func (e *Engine) GetWorkbook(ctx context.Context, name string) (*store.Workbook, error) {
	return read(ctx, e.store, func(tx store.Tx) (*store.Workbook, error) { return tx.GetWorkbook("", name) })
}

// ListWorkbooks pages through workbooks.
func (e *Engine) ListWorkbooks(ctx context.Context, o store.ListOpts) ([]*store.Workbook, error) {
	return read(ctx, e.store, func(tx store.Tx) ([]*store.Workbook, error) { return tx.ListWorkbooks(o) })
}

// DeleteWorkbook deletes a workbook of the default namespace; its
// workflows and actions stay, as in Mistral.
func (e *Engine) DeleteWorkbook(ctx context.Context, name string) error {
	return e.store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteWorkbook("", name) })
}

// itemText is the part of a workbook document that defines one workflow or
// action, the way Mistral stores it as that definition's own text: the
// line of its key (line and col are 1-based) and every following line
// indented deeper than the key, all shifted left by the key's indentation;
// blank lines are kept, and so are comments, shifted where they are
// indented at least as deep as the key. Without a position it is the
// whole document.
func itemText(doc string, line, col int) string {
	lines := strings.SplitAfter(doc, "\n")
	if line < 1 || line > len(lines) || col < 1 {
		return doc
	}
	indent := col - 1
	first := lines[line-1]
	if indent > len(first) || strings.TrimSpace(first[:indent]) != "" {
		return doc
	}
	var b strings.Builder
	b.WriteString(first[indent:])
	for _, l := range lines[line:] {
		body := strings.TrimLeft(l, " \t")
		switch lead := len(l) - len(body); {
		case strings.TrimSpace(body) == "":
			b.WriteString(l)
		case strings.HasPrefix(body, "#"):
			if lead < indent {
				b.WriteString(l)
			} else {
				b.WriteString(l[indent:])
			}
		case lead > indent:
			b.WriteString(l[indent:])
		default:
			return strings.TrimRight(b.String(), " \t\r\n") + "\n"
		}
	}
	return strings.TrimRight(b.String(), " \t\r\n") + "\n"
}
