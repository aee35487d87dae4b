package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sirocco-wf/sirocco/sdk"
)

// Version is this plugin's version.
const Version = "0.2.0"

// Error types of this plugin's failed runs; workflows may branch on them.
const (
	// ErrHTTPStatus is a response outside 200-306; its data is the whole
	// response, as Mistral's error result is.
	ErrHTTPStatus = "HTTPError"
	// ErrRequestFailed is a request that got no response (refused,
	// timed out, TLS failure).
	ErrRequestFailed = "HTTPRequestFailed"
	// ErrTooLarge is a response larger than the operator's cap.
	ErrTooLarge = "HTTPResponseTooLarge"
	// ErrEgress is a connection the operator's egress policy refused.
	ErrEgress = "EgressDenied"
)

// Plugin is the plugin as main serves it with the default configuration;
// the tests build others with NewPlugin.
func Plugin() sdk.Plugin { return NewPlugin(DefaultConfig()) }

// NewPlugin builds the plugin for one configuration.
func NewPlugin(cfg Config) sdk.Plugin {
	c := &client{cfg: cfg}
	return sdk.Plugin{
		Name:    "http",
		Version: Version,
		Actions: []sdk.ActionDef{
			sdk.Action("std.http", "Sends an HTTP request and returns the response, as Mistral's std.http: "+
				"content (parsed when it is JSON), status, headers, url, history, encoding, reason, cookies, elapsed. "+
				"A status outside 200-306 fails the action with that response as its result.",
				c.runHTTP, sdk.Cancellable()),
			sdk.Action("std.mistral_http", "Like std.http, and asynchronous: it adds the Mistral-Workflow-Name, "+
				"Mistral-Workflow-Execution-Id, Mistral-Task-Id, Mistral-Action-Execution-Id and Mistral-Callback-URL headers, and the remote service "+
				"completes the action later with PUT on the callback URL (/v2/action_executions/{id}).",
				c.runMistralHTTP, sdk.Cancellable(), sdk.Async()),
		},
	}
}

// Input are std.http's parameters, named as Mistral names them so that
// existing workflows run unchanged. Defaults are Mistral's.
type Input struct {
	URL    string `json:"url" description:"Absolute http or https URL of the request."`
	Method string `json:"method,omitempty" default:"GET" description:"HTTP method, in any case."`
	// Params is an object (values may be lists) or an already encoded
	// query string.
	Params any `json:"params,omitempty" description:"Query parameters added to the URL: an object (a list value repeats the parameter) or an encoded query string."`
	// Body is sent as is when a string, as JSON text when anything else.
	Body    any            `json:"body,omitempty" description:"Request body: a string sent as is, or an object sent as JSON text (no Content-Type is added). Exclusive with json."`
	JSON    any            `json:"json,omitempty" description:"A value sent as a JSON body with Content-Type application/json. Exclusive with body."`
	Headers map[string]any `json:"headers,omitempty" description:"Request headers; numbers and booleans are sent as text, null leaves a header out."`
	Cookies map[string]any `json:"cookies,omitempty" description:"Cookies sent with the request."`
	Auth    string         `json:"auth,omitempty" description:"HTTP basic authentication as user:password."`
	// Timeout is a number or Python requests' (connect, read) pair.
	Timeout any `json:"timeout,omitempty" description:"Seconds to wait for the connection and then for each read of the response; a number, or a [connect, read] pair. Null waits as long as the task's timeout allows."`
	// AllowRedirects is Mistral's None by default, with which requests
	// does not follow redirects.
	AllowRedirects *bool             `json:"allow_redirects,omitempty" description:"Follow redirects (at most 30); by default a 3xx response is the result."`
	Proxies        map[string]string `json:"proxies,omitempty" description:"Proxy URL by scheme or scheme://host as Python requests takes them, e.g. {\"https\": \"http://proxy:3128\"}; unmatched requests use the executor host's HTTP_PROXY, HTTPS_PROXY and NO_PROXY."`
	// Verify is true, false or the path of a CA bundle, for https URLs.
	Verify any `json:"verify,omitempty" description:"For https URLs: verify the server's certificate (true, the default), do not (false), or verify it against the CA bundle at this path (a file or a directory of PEM files) on the executor host."`
}

// Result is the response as Mistral represents it. On a status outside
// 200-306 the same object is the task's error result.
type Result struct {
	Content any               `json:"content" description:"The body, parsed when it is JSON, else text."`
	Status  int               `json:"status" description:"The status code."`
	Headers map[string]string `json:"headers" description:"Response headers; repeated headers joined with \", \"."`
	URL     string            `json:"url" description:"The URL of the final response (after redirects)."`
	// History is [] unless redirects were followed. Mistral puts requests'
	// Response objects there, which serialise to nothing useful; each
	// entry here describes one redirect response instead.
	History  []Redirect        `json:"history" description:"The redirect responses followed to reach this one, oldest first."`
	Encoding *string           `json:"encoding" description:"The body's character set as Python requests guesses it from Content-Type, or null."`
	Reason   string            `json:"reason" description:"The status's reason phrase, e.g. OK."`
	Cookies  map[string]string `json:"cookies" description:"Cookies the final response sets."`
	Elapsed  float64           `json:"elapsed" description:"Seconds from sending the request to receiving the response's headers."`
}

// Redirect is one response of a redirect chain.
type Redirect struct {
	Status  int               `json:"status"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Reason  string            `json:"reason"`
}

// client runs requests under one configuration.
type client struct {
	cfg Config
}

func (c *client) runHTTP(ctx sdk.Context, in Input) (Result, error) {
	return c.do(ctx, "std.http", in, nil)
}

// runMistralHTTP sends the headers that let the callee report back, as
// Mistral's std.mistral_http does; they replace headers of the same name
// in the input. A value the host did not send (Mistral-Workflow-Name from
// a host older than protocol minor 1, or no workflow at all for an action
// run on its own) leaves its header out, as Python requests leaves out a
// header whose value is None.
func (c *client) runMistralHTTP(ctx sdk.Context, in Input) (Result, error) {
	e := ctx.Exec()
	return c.do(ctx, "std.mistral_http", in, map[string]string{
		"Mistral-Workflow-Name":         e.WorkflowName,
		"Mistral-Workflow-Execution-Id": e.WorkflowExecutionID,
		"Mistral-Task-Id":               e.TaskExecutionID,
		"Mistral-Action-Execution-Id":   e.ActionExecutionID,
		"Mistral-Callback-URL":          e.CallbackURL,
	})
}

func (c *client) do(ctx sdk.Context, action string, in Input, extraHeaders map[string]string) (Result, error) {
	r, err := c.prepare(ctx, action, in)
	if err != nil {
		return Result{}, err
	}
	defer r.close()
	for k, v := range extraHeaders {
		if v != "" {
			r.req.Header.Set(k, v)
		}
	}
	ctx.Logger().Info("sending HTTP request", "method", r.req.Method, "url", logURL(r.req))

	start := time.Now()
	resp, err := r.client.Do(r.req)
	if err != nil {
		return Result{}, c.sendError(ctx, r, err)
	}
	defer resp.Body.Close()
	elapsed := time.Since(start)

	if resp.ContentLength > c.cfg.MaxResponseBytes {
		return Result{}, c.tooLarge(r, strconv.FormatInt(resp.ContentLength, 10)+" bytes (Content-Length)")
	}
	body, err := io.ReadAll(r.readBody(resp.Body, c.cfg.MaxResponseBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("reading the response of %s: %w", logURL(r.req), ctx.Err())
		}
		return Result{}, &sdk.Error{
			Type:      ErrRequestFailed,
			Message:   fmt.Sprintf("Failed to read the HTTP response of %s: %v", logURL(r.req), err),
			Retryable: true,
			Err:       err,
		}
	}
	if int64(len(body)) > c.cfg.MaxResponseBytes {
		return Result{}, c.tooLarge(r, "more than that")
	}
	res := toResult(resp, body, elapsed, r.history)
	ctx.Logger().Info("HTTP response", "status", resp.StatusCode, "bytes", len(body))

	// Mistral: any status outside [200, 307) fails the action, with the
	// whole response as the error result.
	if resp.StatusCode < 200 || resp.StatusCode >= 307 {
		return Result{}, &sdk.Error{
			Type:      ErrHTTPStatus,
			Message:   fmt.Sprintf("%s %s returned %d %s", r.req.Method, logURL(r.req), resp.StatusCode, res.Reason),
			Data:      res,
			Retryable: resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests,
		}
	}
	return res, nil
}

// sendError classifies a request that got no response.
func (c *client) sendError(ctx sdk.Context, r *prepared, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("HTTP request to %s: %w", logURL(r.req), ctx.Err())
	}
	var egress *EgressError
	if errors.As(err, &egress) {
		return &sdk.Error{Type: ErrEgress, Message: fmt.Sprintf("HTTP request to %s refused: %v", logURL(r.req), egress), Err: err}
	}
	return &sdk.Error{
		Type:      ErrRequestFailed,
		Message:   fmt.Sprintf("Failed to send HTTP request: %v", err),
		Retryable: true,
		Err:       err,
	}
}

func (c *client) tooLarge(r *prepared, size string) error {
	return sdk.NewError(ErrTooLarge, fmt.Sprintf(
		"the response of %s is larger than the %d bytes this executor host accepts (%s): %s; fetch large content outside the workflow",
		logURL(r.req), c.cfg.MaxResponseBytes, envMaxResponse, size), nil)
}

// logURL is the request's URL without query or credentials: queries and
// user info often carry tokens, and logs are read by more people than
// workflows are.
func logURL(req *http.Request) string {
	u := *req.URL
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return u.String()
}
