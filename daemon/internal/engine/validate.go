package engine

import (
	"context"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// The engine loads definitions through these functions only, so that
// what POST /v2/workflows stores and what POST /v2/workflows/validate
// accepts can never drift apart: both parse with lang and check every
// expression with expr.Validate, as Mistral checks them at upload.

var _ api.Validator = (*Engine)(nil)

// langOptions are the lang options of every load: errors name the
// definition and each expression's syntax is checked.
func langOptions() lang.Options {
	return lang.Options{Source: "definition", ValidateExpr: expr.Validate}
}

// parseWorkflowDocument parses and validates a workflow document; a
// problem in it is a definitionError (HTTP 400 on create, valid=false on
// validate).
func parseWorkflowDocument(definition string) (*lang.Document, error) {
	doc, err := lang.ParseWorkflows([]byte(definition), langOptions())
	if err != nil {
		return nil, &definitionError{err: err}
	}
	return doc, nil
}

// parseWorkbook parses and validates a workbook.
func parseWorkbook(definition string) (*lang.Workbook, error) {
	wb, err := lang.ParseWorkbook([]byte(definition), langOptions())
	if err != nil {
		return nil, &definitionError{err: err}
	}
	return wb, nil
}

// parseActions parses and validates a document of ad-hoc actions.
func parseActions(definition string) (*lang.ActionDocument, error) {
	doc, err := lang.ParseActions([]byte(definition), langOptions())
	if err != nil {
		return nil, &definitionError{err: err}
	}
	return doc, nil
}

// ValidateWorkflows checks a workflow document as CreateWorkflows would,
// without storing anything.
func (e *Engine) ValidateWorkflows(_ context.Context, definition string) error {
	_, err := parseWorkflowDocument(definition)
	return err
}

// ValidateWorkbook checks a workbook as Mistral's POST /v2/workbooks
// would, without storing anything.
func (e *Engine) ValidateWorkbook(_ context.Context, definition string) error {
	_, err := parseWorkbook(definition)
	return err
}

// ValidateActions checks a document of ad-hoc actions as Mistral's
// POST /v2/actions would, without storing anything.
func (e *Engine) ValidateActions(_ context.Context, definition string) error {
	_, err := parseActions(definition)
	return err
}
