package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sirocco-wf/sirocco/sdk"
)

// Version is this plugin's version.
const Version = "0.1.0"

// maxBody bounds a response body kept in a result: results travel inline
// through the plugin protocol and the engine's store, so anything larger
// should be fetched by the consumer, not carried in the workflow.
const maxBody = 32 << 20

// Plugin is the plugin's definition, shared by main and the tests.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    "http",
		Version: Version,
		Actions: []sdk.ActionDef{
			sdk.Action("std.http", "Sends an HTTP request and returns the response (Mistral std.http).",
				runHTTP, sdk.Cancellable()),
			sdk.Action("std.mistral_http", "Like std.http, adding Mistral-* headers that identify the run so the remote service can report back through the callback URL (async).",
				runMistralHTTP, sdk.Cancellable(), sdk.Async()),
		},
	}
}

// Input are std.http's parameters, named and shaped as in Mistral so that
// existing workflows run unchanged.
type Input struct {
	URL    string `json:"url" description:"URL of the request."`
	Method string `json:"method,omitempty" default:"GET" description:"HTTP method."`
	// Params is an object (values may be lists) or an already encoded
	// query string.
	Params any `json:"params,omitempty" description:"Query string parameters: an object or an encoded string."`
	// Body is sent as is when a string, JSON-encoded when an object.
	Body    any               `json:"body,omitempty" description:"Request body: a string, or an object sent as JSON text. Exclusive with json."`
	JSON    any               `json:"json,omitempty" description:"A value sent as a JSON body with Content-Type application/json. Exclusive with body."`
	Headers map[string]any    `json:"headers,omitempty" description:"Request headers; numbers are sent as text."`
	Cookies map[string]string `json:"cookies,omitempty" description:"Cookies to send."`
	Auth    string            `json:"auth,omitempty" description:"Basic authentication as user:password."`
	Timeout *float64          `json:"timeout,omitempty" description:"Timeout of the request in seconds."`
	// AllowRedirects defaults to false: Mistral passes None to requests,
	// which then does not follow redirects.
	AllowRedirects *bool `json:"allow_redirects,omitempty" default:"false" description:"Follow redirects."`
	// Verify is true, false or the path of a CA bundle, for https URLs.
	Verify any `json:"verify,omitempty" description:"For https: verify the server certificate (true/false) or a CA bundle path."`
}

// Result is the response as Mistral represents it. On a failed status the
// same object is the task's error value.
type Result struct {
	Content  any               `json:"content" description:"The body, parsed when it is JSON, else text."`
	Status   int               `json:"status"`
	Headers  map[string]string `json:"headers"`
	URL      string            `json:"url"`
	Encoding *string           `json:"encoding"`
	Reason   string            `json:"reason"`
	Cookies  map[string]string `json:"cookies"`
	Elapsed  float64           `json:"elapsed" description:"Seconds from sending the request to reading the response."`
}

func runHTTP(ctx sdk.Context, in Input) (Result, error) {
	return do(ctx, in, nil)
}

func runMistralHTTP(ctx sdk.Context, in Input) (Result, error) {
	e := ctx.Exec()
	return do(ctx, in, map[string]string{
		"Mistral-Workflow-Execution-Id": e.WorkflowExecutionID,
		"Mistral-Task-Id":               e.TaskExecutionID,
		"Mistral-Action-Execution-Id":   e.ActionExecutionID,
		"Mistral-Callback-URL":          e.CallbackURL,
	})
}

func do(ctx sdk.Context, in Input, extraHeaders map[string]string) (Result, error) {
	req, client, err := buildRequest(ctx, in)
	if err != nil {
		return Result{}, sdk.Fatal(err)
	}
	for k, v := range extraHeaders {
		req.Header.Set(k, v)
	}
	ctx.Logger().Info("sending HTTP request", "method", req.Method, "url", req.URL.Redacted())

	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("HTTP request to %s: %w", req.URL.Redacted(), ctx.Err())
		}
		return Result{}, &sdk.Error{
			Type:      "HTTPRequestFailed",
			Message:   fmt.Sprintf("failed to send HTTP request: %v", err),
			Retryable: true,
			Err:       err,
		}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return Result{}, sdk.Retryable(fmt.Errorf("read HTTP response from %s: %w", req.URL.Redacted(), err))
	}
	if len(body) > maxBody {
		return Result{}, sdk.NewError("HTTPResponseTooLarge",
			fmt.Sprintf("response from %s is larger than %d bytes", req.URL.Redacted(), maxBody), nil)
	}
	res := toResult(resp, body, time.Since(start))
	ctx.Logger().Info("HTTP response", "status", resp.StatusCode)

	// Mistral: any status outside [200, 307) fails the action, with the
	// whole response as the error value.
	if resp.StatusCode < 200 || resp.StatusCode >= 307 {
		return Result{}, &sdk.Error{
			Type:      "HTTPError",
			Message:   fmt.Sprintf("%s %s returned %s", req.Method, req.URL.Redacted(), resp.Status),
			Data:      res,
			Retryable: resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests,
		}
	}
	return res, nil
}

// buildRequest maps Mistral's parameters onto net/http. Errors are about
// the input and therefore not retryable.
func buildRequest(ctx context.Context, in Input) (*http.Request, *http.Client, error) {
	u, err := url.Parse(in.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, nil, fmt.Errorf("invalid url %q: must be an absolute http(s) URL", in.URL)
	}
	if err := addParams(u, in.Params); err != nil {
		return nil, nil, err
	}
	method := strings.ToUpper(in.Method)
	if method == "" {
		method = http.MethodGet
	}

	var body io.Reader
	contentType := ""
	switch {
	case in.Body != nil && in.JSON != nil:
		return nil, nil, errors.New("only one of the parameters 'json' and 'body' can be passed")
	case in.JSON != nil:
		b, err := json.Marshal(in.JSON)
		if err != nil {
			return nil, nil, fmt.Errorf("encode json parameter: %w", err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	case in.Body != nil:
		switch b := in.Body.(type) {
		case string:
			body = strings.NewReader(b)
		default:
			enc, err := json.Marshal(b)
			if err != nil {
				return nil, nil, fmt.Errorf("encode body parameter: %w", err)
			}
			body = bytes.NewReader(enc)
		}
	}

	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, nil, fmt.Errorf("build request: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range in.Headers {
		switch v := v.(type) {
		case string:
			req.Header.Set(k, v)
		case nil:
		default:
			req.Header.Set(k, fmt.Sprint(v))
		}
	}
	for k, v := range in.Cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	if in.Auth != "" {
		user, pass, ok := strings.Cut(in.Auth, ":")
		if !ok {
			return nil, nil, errors.New("auth must be user:password")
		}
		req.SetBasicAuth(user, pass)
	}

	client := &http.Client{}
	if in.Timeout != nil && *in.Timeout > 0 {
		client.Timeout = time.Duration(*in.Timeout * float64(time.Second))
	}
	if in.AllowRedirects == nil || !*in.AllowRedirects {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	if u.Scheme == "https" && in.Verify != nil {
		tlsConf, err := tlsConfig(in.Verify)
		if err != nil {
			return nil, nil, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tlsConf
		client.Transport = tr
	}
	return req, client, nil
}

func addParams(u *url.URL, params any) error {
	switch p := params.(type) {
	case nil:
		return nil
	case string:
		if u.RawQuery != "" {
			u.RawQuery += "&" + p
		} else {
			u.RawQuery = p
		}
		return nil
	case map[string]any:
		q := u.Query()
		for k, v := range p {
			switch v := v.(type) {
			case []any:
				for _, item := range v {
					q.Add(k, scalar(item))
				}
			case nil:
				// requests drops None values
			default:
				q.Add(k, scalar(v))
			}
		}
		u.RawQuery = q.Encode()
		return nil
	}
	return fmt.Errorf("params must be an object or a string, got %T", params)
}

// scalar renders a JSON scalar as Python's str() would for requests,
// except that booleans keep their JSON spelling.
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func tlsConfig(verify any) (*tls.Config, error) {
	switch v := verify.(type) {
	case bool:
		return &tls.Config{InsecureSkipVerify: !v}, nil //nolint:gosec // the workflow asked for it, as in Mistral
	case string:
		pem, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("verify: read CA bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("verify: %s holds no PEM certificate", v)
		}
		return &tls.Config{RootCAs: pool}, nil
	}
	return nil, fmt.Errorf("verify must be a boolean or a CA bundle path, got %T", verify)
}

func toResult(resp *http.Response, body []byte, elapsed time.Duration) Result {
	res := Result{
		Status:  resp.StatusCode,
		Headers: make(map[string]string, len(resp.Header)),
		URL:     resp.Request.URL.String(),
		Reason:  strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode))),
		Cookies: map[string]string{},
		Elapsed: elapsed.Seconds(),
	}
	for k, v := range resp.Header {
		res.Headers[k] = strings.Join(v, ", ")
	}
	for _, c := range resp.Cookies() {
		res.Cookies[c.Name] = c.Value
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, params, err := mime.ParseMediaType(ct); err == nil {
			if cs, ok := params["charset"]; ok {
				res.Encoding = &cs
			} else if strings.HasPrefix(mt, "text/") {
				latin1 := "ISO-8859-1" // requests' default for text/*
				res.Encoding = &latin1
			}
		}
	}
	// Like Mistral: JSON when the body parses as JSON, whatever the
	// Content-Type says; else the text.
	var parsed any
	if len(bytes.TrimSpace(body)) > 0 && json.Unmarshal(body, &parsed) == nil {
		res.Content = parsed
	} else {
		res.Content = string(body)
	}
	return res
}
