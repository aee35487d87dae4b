package client

import (
	"context"
	"net/http"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
)

// Environments and workbooks (Mistral's /v2/environments and
// /v2/workbooks), answered in the api package's wire types.

// EnvironmentRequest is the body of POST and PUT /v2/environments.
// Variables travels JSON-encoded, as python-mistralclient sends it.
type EnvironmentRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Variables   string `json:"variables,omitempty"`
	Scope       string `json:"scope,omitempty"`
}

// CreateEnvironment creates an environment.
func (c *Client) CreateEnvironment(ctx context.Context, r EnvironmentRequest) (*api.CreatedEnvironment, error) {
	return sent[api.CreatedEnvironment](ctx, c, http.MethodPost, "/v2/environments", r)
}

// UpdateEnvironment replaces the description, variables or scope of the
// environment r.Name names.
func (c *Client) UpdateEnvironment(ctx context.Context, r EnvironmentRequest) (*api.Environment, error) {
	return sent[api.Environment](ctx, c, http.MethodPut, "/v2/environments", r)
}

// ListEnvironments lists environments.
func (c *Client) ListEnvironments(ctx context.Context, o ListOpts) ([]api.Environment, error) {
	var out api.EnvironmentList
	err := c.get(ctx, "/v2/environments", o.query(), &out)
	return out.Environments, err
}

// GetEnvironment reads one environment by name.
func (c *Client) GetEnvironment(ctx context.Context, name string) (*api.Environment, error) {
	return one[api.Environment](ctx, c, "/v2/environments/"+esc(name))
}

// DeleteEnvironment deletes one environment by name.
func (c *Client) DeleteEnvironment(ctx context.Context, name string) error {
	return c.del(ctx, "/v2/environments/"+esc(name))
}

// CreateWorkbook uploads a workbook definition (YAML).
func (c *Client) CreateWorkbook(ctx context.Context, definition []byte) (*api.CreatedWorkbook, error) {
	return uploaded[api.CreatedWorkbook](ctx, c, http.MethodPost, "/v2/workbooks", definition)
}

// UpdateWorkbook replaces the workbook a definition names.
func (c *Client) UpdateWorkbook(ctx context.Context, definition []byte) (*api.Workbook, error) {
	return uploaded[api.Workbook](ctx, c, http.MethodPut, "/v2/workbooks", definition)
}

// ListWorkbooks lists workbooks.
func (c *Client) ListWorkbooks(ctx context.Context, o ListOpts) ([]api.Workbook, error) {
	var out api.WorkbookList
	err := c.get(ctx, "/v2/workbooks", o.query(), &out)
	return out.Workbooks, err
}

// GetWorkbook reads one workbook by name.
func (c *Client) GetWorkbook(ctx context.Context, name string) (*api.Workbook, error) {
	return one[api.Workbook](ctx, c, "/v2/workbooks/"+esc(name))
}

// DeleteWorkbook deletes a workbook with its workflows and actions.
func (c *Client) DeleteWorkbook(ctx context.Context, name string) error {
	return c.del(ctx, "/v2/workbooks/"+esc(name))
}
