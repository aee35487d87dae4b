// Package client is a small Go client of Sirocco's /v2 HTTP API, used by
// the CLI. It decodes answers into the api package's wire types, so the
// client and the server cannot disagree about a field name, and turns
// problem+json answers into *Error values whose text is the problem's
// detail (what a person must fix), not a dump of the body.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
)

// Client talks to one Sirocco server.
type Client struct {
	base  *url.URL
	http  *http.Client
	token string // sent by authorize; see NewWithOptions
}

// New returns a client of the server at baseURL (e.g.
// http://127.0.0.1:8989). A nil hc means a client with a 30 s timeout, so
// a hung server cannot hang the CLI forever.
func New(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://host:port or https://host:port", baseURL)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, http: hc}, nil
}

// Error is a failed request as the server described it.
type Error struct {
	Status int    // HTTP status
	Title  string // e.g. "Not Found"
	Detail string // what went wrong, for a person
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Detail
	}
	return fmt.Sprintf("server answered %d %s", e.Status, e.Title)
}

// IsNotFound reports whether err is a 404 from the server.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// do sends one request and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, ctype string, body []byte, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the Sirocco server: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return problem(resp, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the server's answer is not what this client expects: %w", method, path, err)
	}
	return nil
}

// problem turns an error answer into *Error: RFC 9457 detail first, then
// Mistral's faultstring (so the CLI also reads a real Mistral), then the
// status line.
func problem(resp *http.Response, raw []byte) error {
	e := &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
	var p struct {
		Title       string `json:"title"`
		Detail      string `json:"detail"`
		Faultstring string `json:"faultstring"`
	}
	if json.Unmarshal(raw, &p) == nil {
		if p.Title != "" {
			e.Title = p.Title
		}
		e.Detail = p.Detail
		if e.Detail == "" {
			e.Detail = p.Faultstring
		}
	}
	if e.Detail == "" {
		if s := strings.TrimSpace(string(raw)); s != "" && len(s) < 200 && !strings.ContainsAny(s, "<{") {
			e.Detail = s
		}
	}
	return e
}

// CreateWorkflows uploads a workflow-language v2 document.
func (c *Client) CreateWorkflows(ctx context.Context, definition []byte) ([]api.CreatedWorkflow, error) {
	var out api.CreatedWorkflowList
	err := c.do(ctx, http.MethodPost, "/v2/workflows", nil, "text/plain", definition, &out)
	return out.Workflows, err
}

// GetWorkflow reads one workflow by name or id.
func (c *Client) GetWorkflow(ctx context.Context, identifier string) (*api.Workflow, error) {
	var out api.Workflow
	if err := c.do(ctx, http.MethodGet, "/v2/workflows/"+url.PathEscape(identifier), nil, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StartRequest is what StartExecution sends. Input and Params go as JSON
// objects.
type StartRequest struct {
	WorkflowName string         `json:"workflow_name"`
	Input        map[string]any `json:"input,omitempty"`
	Params       map[string]any `json:"params,omitempty"`
	Description  string         `json:"description,omitempty"`
	ID           string         `json:"id,omitempty"`
}

// StartExecution starts a workflow execution.
func (c *Client) StartExecution(ctx context.Context, r StartRequest) (*api.Execution, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encoding the request: %w", err)
	}
	var out api.Execution
	if err := c.do(ctx, http.MethodPost, "/v2/executions", nil, "application/json", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetExecution reads one execution, output included.
func (c *Client) GetExecution(ctx context.Context, id string) (*api.Execution, error) {
	var out api.Execution
	if err := c.do(ctx, http.MethodGet, "/v2/executions/"+url.PathEscape(id), nil, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListTasks lists the task executions of one execution, results included.
func (c *Client) ListTasks(ctx context.Context, executionID string) ([]api.Task, error) {
	var out api.TaskList
	q := url.Values{"include_result": {"true"}}
	err := c.do(ctx, http.MethodGet, "/v2/executions/"+url.PathEscape(executionID)+"/tasks", q, "", nil, &out)
	return out.Tasks, err
}

// Terminal reports whether an execution state is final.
func Terminal(state string) bool {
	switch state {
	case "SUCCESS", "ERROR", "CANCELLED":
		return true
	}
	return false
}

// WaitExecution polls an execution until it reaches a final state or ctx
// ends. The interval starts short (most test workflows finish in well under
// a second) and doubles up to maxInterval, so a long execution costs the
// server little.
func (c *Client) WaitExecution(ctx context.Context, id string, maxInterval time.Duration) (*api.Execution, error) {
	interval := 50 * time.Millisecond
	if maxInterval <= 0 {
		maxInterval = 2 * time.Second
	}
	for {
		e, err := c.GetExecution(ctx, id)
		if err != nil {
			return nil, err
		}
		if Terminal(e.State) {
			return e, nil
		}
		select {
		case <-ctx.Done():
			return e, fmt.Errorf("waiting for execution %s (last state %s): %w", id, e.State, ctx.Err())
		case <-time.After(interval):
		}
		interval = min(interval*2, maxInterval)
	}
}

func limitQuery(limit int) url.Values {
	if limit <= 0 {
		return nil
	}
	return url.Values{"limit": {fmt.Sprint(limit)}}
}

// CreateCronTrigger creates a cron trigger; body is the JSON of
// POST /v2/cron_triggers.
func (c *Client) CreateCronTrigger(ctx context.Context, body []byte) (*api.CronTrigger, error) {
	var out api.CronTrigger
	if err := c.do(ctx, http.MethodPost, "/v2/cron_triggers", nil, "application/json", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListCronTriggers lists cron triggers, all of them when limit is 0.
func (c *Client) ListCronTriggers(ctx context.Context, limit int) ([]api.CronTriggerDetail, error) {
	var out api.CronTriggerList
	err := c.do(ctx, http.MethodGet, "/v2/cron_triggers", limitQuery(limit), "", nil, &out)
	return out.CronTriggers, err
}

// GetCronTrigger reads one cron trigger by name or id.
func (c *Client) GetCronTrigger(ctx context.Context, identifier string) (*api.CronTriggerDetail, error) {
	var out api.CronTriggerDetail
	if err := c.do(ctx, http.MethodGet, "/v2/cron_triggers/"+url.PathEscape(identifier), nil, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteCronTrigger deletes one cron trigger by name or id.
func (c *Client) DeleteCronTrigger(ctx context.Context, identifier string) error {
	return c.do(ctx, http.MethodDelete, "/v2/cron_triggers/"+url.PathEscape(identifier), nil, "", nil, nil)
}
