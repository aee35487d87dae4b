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
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirocco-wf/sirocco/sdk"
)

// maxRedirects is Python requests' limit.
const maxRedirects = 30

// userAgent names the client to servers, as python-requests/x does for
// Mistral.
const userAgent = "sirocco-std.http/" + Version

// prepared is one request ready to send, with the client that sends it and
// what it collects on the way.
type prepared struct {
	req       *http.Request
	client    *http.Client
	transport *http.Transport
	history   []Redirect
	// read is requests' read timeout: the longest wait for the response's
	// headers and then for each piece of its body. Zero: no limit.
	read      time.Duration
	cancel    context.CancelFunc
	stopTimer func() bool
}

func (p *prepared) close() {
	if p.stopTimer != nil {
		p.stopTimer()
	}
	p.cancel()
	p.transport.CloseIdleConnections()
}

// inputError is bad input, named by its parameter as the SDK names the
// parameters it rejects itself.
func inputError(action, param, format string, a ...any) error {
	return sdk.NewError(sdk.ErrTypeInvalidInput,
		fmt.Sprintf("invalid input for action %s: parameter %q: %s", action, param, fmt.Sprintf(format, a...)), nil)
}

// prepare maps Mistral's parameters onto net/http.
func (c *client) prepare(ctx context.Context, action string, in Input) (*prepared, error) {
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, inputError(action, "url", "%q is not an absolute http or https URL", in.URL)
	}
	if err := addParams(u, in.Params); err != nil {
		return nil, inputError(action, "params", "%v", err)
	}
	method := strings.ToUpper(in.Method)
	if method == "" {
		method = http.MethodGet
	}
	body, contentType, err := requestBody(in.Body, in.JSON)
	if err != nil {
		return nil, inputError(action, "body", "%v", err)
	}
	connect, read, err := timeouts(in.Timeout)
	if err != nil {
		return nil, inputError(action, "timeout", "%v", err)
	}
	var tlsConf *tls.Config
	if u.Scheme == "https" && in.Verify != nil {
		// As in Mistral, verify only counts for https URLs.
		if tlsConf, err = tlsConfig(in.Verify); err != nil {
			return nil, inputError(action, "verify", "%v", err)
		}
	}
	proxy, err := proxyFunc(in.Proxies, c.cfg.Egress)
	if err != nil {
		return nil, inputError(action, "proxies", "%v", err)
	}

	reqCtx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(reqCtx, method, u.String(), body)
	if err != nil {
		cancel()
		return nil, inputError(action, "method", "%v", err)
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "*/*")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range in.Headers {
		s, ok, err := pyStr(v)
		if err != nil {
			cancel()
			return nil, inputError(action, "headers", "header %q: %v", k, err)
		}
		if ok {
			req.Header.Set(k, s)
		}
	}
	for k, v := range in.Cookies {
		s, ok, err := pyStr(v)
		if err != nil {
			cancel()
			return nil, inputError(action, "cookies", "cookie %q: %v", k, err)
		}
		if ok {
			req.AddCookie(&http.Cookie{Name: k, Value: s})
		}
	}
	if in.Auth != "" {
		user, pass, ok := strings.Cut(in.Auth, ":")
		if !ok {
			cancel()
			return nil, inputError(action, "auth", "must be user:password")
		}
		req.SetBasicAuth(user, pass)
	}

	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	if c.cfg.Egress != nil {
		dialer.Control = c.cfg.Egress.control
	}
	tr := &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   cmpOr(read, 30*time.Second),
		ResponseHeaderTimeout: read,
		// One request per run, as Mistral sends each through a fresh
		// requests call: nothing to keep alive, nothing to leak.
		DisableKeepAlives: true,
	}
	p := &prepared{req: req, transport: tr, read: read, cancel: cancel}
	p.client = &http.Client{Transport: tr, CheckRedirect: p.checkRedirect(in.AllowRedirects != nil && *in.AllowRedirects)}
	return p, nil
}

func cmpOr(d, fallback time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return fallback
}

// checkRedirect follows redirects only when asked (Mistral passes None to
// requests, which then does not follow them), and records each redirect
// response for the result's history.
func (p *prepared) checkRedirect(follow bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !follow {
			return http.ErrUseLastResponse
		}
		if len(via) > maxRedirects {
			return fmt.Errorf("exceeded %d redirects", maxRedirects)
		}
		if r := req.Response; r != nil {
			p.history = append(p.history, Redirect{
				Status:  r.StatusCode,
				URL:     r.Request.URL.String(),
				Headers: joinHeaders(r.Header),
				Reason:  reason(r),
			})
		}
		return nil
	}
}

// readBody reads at most limit bytes of body and enforces the read
// timeout between pieces, as requests' read timeout does, rather than one
// deadline for the whole body.
func (p *prepared) readBody(body io.Reader, limit int64) io.Reader {
	lr := io.LimitReader(body, limit)
	if p.read <= 0 {
		return lr
	}
	ir := &idleReader{r: lr, d: p.read}
	ir.t = time.AfterFunc(p.read, func() {
		ir.fired.Store(true)
		p.cancel()
	})
	p.stopTimer = ir.t.Stop
	return ir
}

type idleReader struct {
	r     io.Reader
	d     time.Duration
	t     *time.Timer
	fired atomic.Bool
}

func (ir *idleReader) Read(b []byte) (int, error) {
	n, err := ir.r.Read(b)
	if ir.fired.Load() {
		return n, fmt.Errorf("no data for %s (the read timeout)", ir.d)
	}
	if n > 0 {
		ir.t.Reset(ir.d)
	}
	return n, err
}

// addParams adds params to u's query. Objects are encoded as requests
// encodes a dict: a list value repeats the key, null is left out, scalars
// are written as Python's str() writes them.
func addParams(u *url.URL, params any) error {
	switch p := params.(type) {
	case nil:
		return nil
	case string:
		appendQuery(u, strings.TrimPrefix(p, "?"))
		return nil
	case map[string]any:
		q := url.Values{}
		keys := make([]string, 0, len(p))
		for k := range p {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			values, isList := p[k].([]any)
			if !isList {
				values = []any{p[k]}
			}
			for _, v := range values {
				s, ok, err := pyStr(v)
				if err != nil {
					return fmt.Errorf("value of %q: %w", k, err)
				}
				if ok {
					q.Add(k, s)
				}
			}
		}
		appendQuery(u, q.Encode())
		return nil
	case []any:
		// A list of [key, value] pairs, as requests also takes.
		q := url.Values{}
		for i, item := range p {
			pair, ok := item.([]any)
			if !ok || len(pair) != 2 {
				return fmt.Errorf("item %d: want a [key, value] pair", i)
			}
			k, kok, kerr := pyStr(pair[0])
			v, vok, verr := pyStr(pair[1])
			if err := errors.Join(kerr, verr); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
			if kok && vok {
				q.Add(k, v)
			}
		}
		appendQuery(u, q.Encode())
		return nil
	}
	return fmt.Errorf("want an object or an encoded query string, got %s", jsonKind(params))
}

// appendQuery adds an encoded query after the URL's own, as requests does.
func appendQuery(u *url.URL, enc string) {
	switch {
	case enc == "":
	case u.RawQuery == "":
		u.RawQuery = enc
	default:
		u.RawQuery += "&" + enc
	}
}

// pyStr writes a scalar as Python's str() writes the value Mistral would
// hand to requests; ok is false for null, which requests leaves out.
func pyStr(v any) (s string, ok bool, err error) {
	switch v := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case bool:
		if v {
			return "True", true, nil
		}
		return "False", true, nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e16 {
			return strconv.FormatFloat(v, 'f', 0, 64), true, nil
		}
		return strconv.FormatFloat(v, 'g', -1, 64), true, nil
	case json.Number:
		return v.String(), true, nil
	}
	return "", false, fmt.Errorf("want a string, number or boolean, got %s", jsonKind(v))
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// truthy is Python's truth value of a JSON value, which decides in Mistral
// whether body and json were both given.
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case bool:
		return v
	case float64:
		return v != 0
	case map[string]any:
		return len(v) > 0
	case []any:
		return len(v) > 0
	}
	return true
}

// requestBody is the body Mistral and requests would send: body as text
// (an object turned into JSON text, without a Content-Type), else json as
// JSON with Content-Type application/json.
func requestBody(body, jsonValue any) (io.Reader, string, error) {
	if truthy(body) && truthy(jsonValue) {
		return nil, "", errors.New("only one of the parameters 'json' and 'body' can be passed")
	}
	text := ""
	switch b := body.(type) {
	case nil:
	case string:
		text = b
	default:
		enc, err := encodeJSON(b)
		if err != nil {
			return nil, "", err
		}
		text = string(enc)
	}
	switch {
	case text != "":
		return strings.NewReader(text), "", nil
	case jsonValue != nil:
		enc, err := encodeJSON(jsonValue)
		if err != nil {
			return nil, "", err
		}
		return bytes.NewReader(enc), "application/json", nil
	}
	return nil, "", nil
}

// encodeJSON writes v as JSON text without Go's HTML escaping, which
// Python's json module does not do either.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// timeouts reads requests' timeout: a number for both the connection and
// each read, or a [connect, read] pair whose parts may be null.
func timeouts(v any) (connect, read time.Duration, err error) {
	seconds := func(x any) (time.Duration, error) {
		switch x := x.(type) {
		case nil:
			return 0, nil
		case float64:
			if x <= 0 || math.IsInf(x, 0) || math.IsNaN(x) {
				return 0, fmt.Errorf("%v is not a number of seconds greater than 0", x)
			}
			return time.Duration(x * float64(time.Second)), nil
		}
		return 0, fmt.Errorf("want a number of seconds, got %s", jsonKind(x))
	}
	if pair, ok := v.([]any); ok {
		if len(pair) != 2 {
			return 0, 0, errors.New("want a number or a [connect, read] pair")
		}
		if connect, err = seconds(pair[0]); err != nil {
			return 0, 0, err
		}
		read, err = seconds(pair[1])
		return connect, read, err
	}
	t, err := seconds(v)
	return t, t, err
}

// tlsConfig reads verify: a boolean, or the path of a CA bundle file or
// of a directory of PEM files, as requests takes it.
func tlsConfig(verify any) (*tls.Config, error) {
	switch v := verify.(type) {
	case bool:
		return &tls.Config{InsecureSkipVerify: !v}, nil //nolint:gosec // the workflow asked for it, as Mistral allows
	case string:
		pool := x509.NewCertPool()
		files := []string{v}
		if st, err := os.Stat(v); err != nil {
			return nil, fmt.Errorf("CA bundle: %w", err)
		} else if st.IsDir() {
			entries, err := os.ReadDir(v)
			if err != nil {
				return nil, fmt.Errorf("CA directory: %w", err)
			}
			files = files[:0]
			for _, e := range entries {
				if e.Type().IsRegular() {
					files = append(files, filepath.Join(v, e.Name()))
				}
			}
		}
		for _, f := range files {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("CA bundle: %w", err)
			}
			pool.AppendCertsFromPEM(pem)
		}
		if pool.Equal(x509.NewCertPool()) {
			return nil, fmt.Errorf("%s holds no PEM certificate", v)
		}
		return &tls.Config{RootCAs: pool}, nil
	}
	return nil, fmt.Errorf("want true, false or the path of a CA bundle, got %s", jsonKind(verify))
}

// proxyFunc picks a request's proxy as requests does: the first of the
// keys scheme://host, scheme, all://host and all that proxies has, else
// the executor host's proxy variables. With an egress policy, a target
// reached through a proxy is checked too (the proxy itself is checked when
// the plugin connects to it).
func proxyFunc(proxies map[string]string, policy *Policy) (func(*http.Request) (*url.URL, error), error) {
	parsed := map[string]*url.URL{}
	for k, v := range proxies {
		if v == "" {
			continue
		}
		if !strings.Contains(v, "://") {
			v = "http://" + v // requests' prepend_scheme_if_needed
		}
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("proxy %q for %q is not a URL", v, k)
		}
		parsed[k] = u
	}
	return func(req *http.Request) (*url.URL, error) {
		scheme, host := req.URL.Scheme, req.URL.Hostname()
		var proxy *url.URL
		for _, k := range []string{scheme + "://" + host, scheme, "all://" + host, "all"} {
			if u, ok := parsed[k]; ok {
				proxy = u
				break
			}
		}
		if proxy == nil {
			var err error
			if proxy, err = http.ProxyFromEnvironment(req); err != nil {
				return nil, err
			}
		}
		if proxy != nil {
			if err := policy.CheckHost(req.Context(), host); err != nil {
				return nil, err
			}
		}
		return proxy, nil
	}, nil
}
