package client

import (
	"context"
	"net/http"
)

// Environments and workbooks (Mistral's /v2/environments and
// /v2/workbooks), in the shapes of Mistral 15's resources.

// Environment is an environment as Mistral shows it; POST answers leave
// updated_at out. Variables is a JSON-encoded object.
type Environment struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Variables   *string `json:"variables"`
	Scope       string  `json:"scope"`
	ProjectID   string  `json:"project_id"`
	CreatedAt   *string `json:"created_at"`
	UpdatedAt   *string `json:"updated_at,omitempty"`
}

// Workbook is a workbook as Mistral shows it; POST answers leave
// updated_at out.
type Workbook struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Namespace  string   `json:"namespace"`
	Definition string   `json:"definition"`
	Tags       []string `json:"tags"`
	Scope      string   `json:"scope"`
	ProjectID  string   `json:"project_id"`
	CreatedAt  *string  `json:"created_at"`
	UpdatedAt  *string  `json:"updated_at,omitempty"`
}

// EnvironmentRequest is the body of POST and PUT /v2/environments.
// Variables travels JSON-encoded, as python-mistralclient sends it.
type EnvironmentRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Variables   string `json:"variables,omitempty"`
	Scope       string `json:"scope,omitempty"`
}

// CreateEnvironment creates an environment.
func (c *Client) CreateEnvironment(ctx context.Context, r EnvironmentRequest) (*Environment, error) {
	return sent[Environment](ctx, c, http.MethodPost, "/v2/environments", r)
}

// UpdateEnvironment replaces the description, variables or scope of the
// environment r.Name names.
func (c *Client) UpdateEnvironment(ctx context.Context, r EnvironmentRequest) (*Environment, error) {
	return sent[Environment](ctx, c, http.MethodPut, "/v2/environments", r)
}

// ListEnvironments lists environments.
func (c *Client) ListEnvironments(ctx context.Context, o ListOpts) ([]Environment, error) {
	var out struct {
		Environments []Environment `json:"environments"`
	}
	err := c.get(ctx, "/v2/environments", o.query(), &out)
	return out.Environments, err
}

// GetEnvironment reads one environment by name.
func (c *Client) GetEnvironment(ctx context.Context, name string) (*Environment, error) {
	return one[Environment](ctx, c, "/v2/environments/"+esc(name))
}

// DeleteEnvironment deletes one environment by name.
func (c *Client) DeleteEnvironment(ctx context.Context, name string) error {
	return c.del(ctx, "/v2/environments/"+esc(name))
}

// CreateWorkbook uploads a workbook definition (YAML).
func (c *Client) CreateWorkbook(ctx context.Context, definition []byte) (*Workbook, error) {
	return uploaded[Workbook](ctx, c, http.MethodPost, "/v2/workbooks", definition)
}

// UpdateWorkbook replaces the workbook a definition names.
func (c *Client) UpdateWorkbook(ctx context.Context, definition []byte) (*Workbook, error) {
	return uploaded[Workbook](ctx, c, http.MethodPut, "/v2/workbooks", definition)
}

// ListWorkbooks lists workbooks.
func (c *Client) ListWorkbooks(ctx context.Context, o ListOpts) ([]Workbook, error) {
	var out struct {
		Workbooks []Workbook `json:"workbooks"`
	}
	err := c.get(ctx, "/v2/workbooks", o.query(), &out)
	return out.Workbooks, err
}

// GetWorkbook reads one workbook by name.
func (c *Client) GetWorkbook(ctx context.Context, name string) (*Workbook, error) {
	return one[Workbook](ctx, c, "/v2/workbooks/"+esc(name))
}

// DeleteWorkbook deletes a workbook with its workflows and actions.
func (c *Client) DeleteWorkbook(ctx context.Context, name string) error {
	return c.del(ctx, "/v2/workbooks/"+esc(name))
}
