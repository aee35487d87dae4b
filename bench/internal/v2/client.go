// Package v2 is the benchmark's client of the Mistral v2 HTTP API: only
// what the workloads need, written against what Mistral 15 and Sirocco
// both accept, so the same workload runs against either server.
package v2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Terminal execution states.
const (
	Success   = "SUCCESS"
	Error     = "ERROR"
	Cancelled = "CANCELLED"
)

// Terminal says whether an execution in state s has ended.
func Terminal(s string) bool { return s == Success || s == Error || s == Cancelled }

// Client talks to one server. Base is the server's root (http://host:port),
// without /v2.
type Client struct {
	Base string
	HTTP *http.Client
}

// New makes a client that keeps enough idle connections for the parallel
// starts of the workloads.
func New(base string) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 256
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}
}

// HTTPError is an answer with a status of 400 or more; Detail is the
// server's message (problem+json detail, or Mistral's faultstring).
type HTTPError struct {
	Method, Path string
	Status       int
	Detail       string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Detail)
}

// StatusOf is the HTTP status of err, or 0 when err is not an HTTPError.
func StatusOf(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

func (c *Client) do(ctx context.Context, method, path, ctype string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	// Mistral answers 406 on the text/plain endpoints to a strict Accept.
	req.Header.Set("Accept", "*/*")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		return &HTTPError{Method: method, Path: path, Status: resp.StatusCode, Detail: detail(data)}
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: %w in %.200s", method, path, err, data)
		}
	}
	return nil
}

// detail picks the human message out of an error body.
func detail(data []byte) string {
	var p struct {
		Detail      string `json:"detail"`
		Faultstring string `json:"faultstring"`
	}
	if json.Unmarshal(data, &p) == nil {
		if p.Detail != "" {
			return p.Detail
		}
		if p.Faultstring != "" {
			return p.Faultstring
		}
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// Reachable checks that the API answers at all (GET /v2/ on Mistral,
// which Sirocco may not serve: any answer below 500 counts).
func (c *Client) Reachable(ctx context.Context) error {
	err := c.do(ctx, http.MethodGet, "/v2/workflows?limit=1", "", nil, nil)
	if s := StatusOf(err); s > 0 && s < 500 {
		return nil
	}
	return err
}

// UploadWorkflow defines the workflows of doc, replacing them when they
// exist.
func (c *Client) UploadWorkflow(ctx context.Context, doc string) error {
	err := c.do(ctx, http.MethodPost, "/v2/workflows", "text/plain", []byte(doc), nil)
	if StatusOf(err) == http.StatusConflict {
		err = c.do(ctx, http.MethodPut, "/v2/workflows", "text/plain", []byte(doc), nil)
	}
	return err
}

// Execution is what the workloads read of an execution.
type Execution struct {
	ID           string  `json:"id"`
	WorkflowName string  `json:"workflow_name"`
	State        string  `json:"state"`
	StateInfo    *string `json:"state_info"`
}

// Info is the state_info, or "".
func (e Execution) Info() string {
	if e.StateInfo == nil {
		return ""
	}
	return *e.StateInfo
}

// Start starts workflow wf under the client-chosen id with input (sent as
// a JSON string, the form both servers take).
func (c *Client) Start(ctx context.Context, id, wf string, input map[string]any) (Execution, error) {
	if input == nil {
		input = map[string]any{}
	}
	in, err := json.Marshal(input)
	if err != nil {
		return Execution{}, err
	}
	body, err := json.Marshal(map[string]any{"id": id, "workflow_name": wf, "input": string(in)})
	if err != nil {
		return Execution{}, err
	}
	var ex Execution
	err = c.do(ctx, http.MethodPost, "/v2/executions", "application/json", body, &ex)
	return ex, err
}

// Get reads one execution.
func (c *Client) Get(ctx context.Context, id string) (Execution, error) {
	var ex Execution
	err := c.do(ctx, http.MethodGet, "/v2/executions/"+url.PathEscape(id), "", nil, &ex)
	return ex, err
}

// Newest lists the limit most recently created executions of workflow wf.
func (c *Client) Newest(ctx context.Context, wf string, limit int) ([]Execution, error) {
	q := url.Values{"workflow_name": {wf}, "sort_keys": {"created_at"}, "sort_dirs": {"desc"}, "limit": {strconv.Itoa(limit)}}
	var out struct {
		Executions []Execution `json:"executions"`
	}
	err := c.do(ctx, http.MethodGet, "/v2/executions?"+q.Encode(), "", nil, &out)
	return out.Executions, err
}

// ActionExecution is what the workloads read of an action execution.
type ActionExecution struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	State        string `json:"state"`
	WorkflowName string `json:"workflow_name"`
}

// ActionExecutions lists every action execution of action name in state.
func (c *Client) ActionExecutions(ctx context.Context, name, state string) ([]ActionExecution, error) {
	q := url.Values{"name": {name}, "state": {state}}
	var out struct {
		ActionExecutions []ActionExecution `json:"action_executions"`
	}
	err := c.do(ctx, http.MethodGet, "/v2/action_executions?"+q.Encode(), "", nil, &out)
	return out.ActionExecutions, err
}

// Complete gives a waiting async action its result.
func (c *Client) Complete(ctx context.Context, actionExecutionID string, output any) error {
	out, err := json.Marshal(output)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"state": Success, "output": string(out)})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPut, "/v2/action_executions/"+url.PathEscape(actionExecutionID), "application/json", body, nil)
}

// Ready waits until the server's /readyz says every role is ready, or,
// for a server without /readyz (Mistral), until the API answers.
func (c *Client) Ready(ctx context.Context) error {
	for {
		err := c.do(ctx, http.MethodGet, "/readyz", "", nil, nil)
		if err == nil {
			return nil
		}
		if StatusOf(err) == http.StatusNotFound {
			return c.Reachable(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// WorkflowID is the id of the workflow named name.
func (c *Client) WorkflowID(ctx context.Context, name string) (string, error) {
	var wf struct {
		ID string `json:"id"`
	}
	err := c.do(ctx, http.MethodGet, "/v2/workflows/"+url.PathEscape(name), "", nil, &wf)
	return wf.ID, err
}
