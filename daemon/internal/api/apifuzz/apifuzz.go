// Package apifuzz sends random requests to every operation an API
// documents in its /openapi.json, so that an operation added later is
// fuzzed without anyone listing it, and checks the answers: whatever the
// method, path, query or body, an answer is below 500 and an error is
// RFC 9457 problem+json. The API's tests use it over the fake backend and
// over a real server.
package apifuzz

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// Sender sends one request and returns the answer.
type Sender func(*http.Request) Answer

// Operation is one documented operation, as read from /openapi.json.
type Operation struct {
	id, method, path string
	params           []param
	bodyTypes        []string       // content types of the request body
	bodyProps        map[string]any // the body's top-level properties (schemas)
	bodyExample      any            // the documented example of the body
	paramExamples    []string       // the documented examples of path parameters
	statuses         map[int]bool   // documented responses
	// streams: the operation answers a stream (Server-Sent Events) that
	// lasts as long as the client listens, so its requests get a short
	// deadline.
	streams bool
}

type param struct{ name, in, typ string }

// LoadOperations reads every operation of the API's OpenAPI document.
func LoadOperations(t testing.TB, send Sender) []Operation {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "/openapi.json", nil)
	a := send(req)
	if a.Status != http.StatusOK {
		t.Fatalf("openapi.json: %d %s", a.Status, a.Body)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(a.Body, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []Operation
	for path, Methods := range doc.Paths {
		for method, raw := range Methods {
			var o struct {
				OperationID string `json:"operationId"`
				Parameters  []struct {
					Name, In string
					Schema   struct{ Type string } `json:"schema"`
					Example  any                   `json:"example"`
				} `json:"parameters"`
				RequestBody *struct {
					Content map[string]struct {
						Schema  map[string]any `json:"schema"`
						Example any            `json:"example"`
					} `json:"content"`
				} `json:"requestBody"`
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			op := Operation{id: o.OperationID, method: strings.ToUpper(method), path: path, statuses: map[int]bool{}}
			for _, p := range o.Parameters {
				op.params = append(op.params, param{p.Name, p.In, p.Schema.Type})
				if ex, ok := p.Example.(string); ok {
					op.paramExamples = append(op.paramExamples, ex)
				}
			}
			if o.RequestBody != nil {
				for ct, c := range o.RequestBody.Content {
					op.bodyTypes = append(op.bodyTypes, ct)
					schema := c.Schema
					if ref, ok := schema["$ref"].(string); ok {
						schema = doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
					}
					op.bodyProps, _ = schema["properties"].(map[string]any)
					if c.Example != nil {
						op.bodyExample = c.Example
					}
				}
				sort.Strings(op.bodyTypes)
			}
			for code, raw := range o.Responses {
				var n int
				if _, err := fmt.Sscan(code, &n); err == nil {
					op.statuses[n] = true
				}
				var r struct{ Content map[string]any }
				_ = json.Unmarshal(raw, &r)
				_, sse := r.Content["text/event-stream"]
				op.streams = op.streams || sse
			}
			ops = append(ops, op)
		}
	}
	// DELETEs last, so the rows the others aim at are there for them.
	sort.Slice(ops, func(i, j int) bool {
		di, dj := ops[i].method == http.MethodDelete, ops[j].method == http.MethodDelete
		if di != dj {
			return dj
		}
		return ops[i].path+ops[i].method < ops[j].path+ops[j].method
	})
	return ops
}

// Answer is what the server said.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// InProcess sends requests straight to a handler.
func InProcess(h http.Handler) Sender {
	return func(req *http.Request) Answer {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return Answer{rec.Code, rec.Header(), rec.Body.Bytes()}
	}
}

// OverHTTP sends requests to a listening server.
func OverHTTP(t testing.TB, base string) Sender {
	hc := &http.Client{Timeout: 30 * time.Second}
	return func(req *http.Request) Answer {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Scheme, req.URL.Host = u.Scheme, u.Host
		resp, err := hc.Do(req)
		if err != nil && req.Context().Err() != nil {
			return Answer{} // a stream cut short by Send
		}
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body) // a stream ends with its request's deadline
		return Answer{resp.StatusCode, resp.Header, b}
	}
}

// CheckAnswer fails t when the answer is a 5xx the operation does not
// document for a reason of its own (a backend without an optional
// interface answers 501), or an error that is not problem+json.
func CheckAnswer(t testing.TB, op Operation, req *http.Request, body []byte, a Answer) {
	t.Helper()
	what := func() string {
		b := body
		if len(b) > 300 {
			b = append(b[:300:300], "…"...)
		}
		return fmt.Sprintf("%s %s (Operation %s, Content-Type %q, body %q)", req.Method, req.URL.RequestURI(), op.id, req.Header.Get("Content-Type"), b)
	}
	if a.Status >= 500 && !(a.Status == http.StatusNotImplemented && op.statuses[a.Status]) {
		t.Fatalf("%s: status %d: %s", what(), a.Status, a.Body)
	}
	if a.Status < 400 || req.Method == http.MethodHead {
		return
	}
	if ct := a.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: status %d with Content-Type %q, want application/problem+json: %s", what(), a.Status, ct, a.Body)
	}
	var p struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
		Title  string `json:"title"`
	}
	if err := json.Unmarshal(a.Body, &p); err != nil || p.Status != a.Status || p.Title == "" {
		t.Fatalf("%s: status %d with a problem that does not say so (%v): %s", what(), a.Status, err, a.Body)
	}
}

// requestGen makes random requests for an operation: mostly well-formed
// enough to get past routing and into the handler, often wrong in one
// place, sometimes wrong everywhere.
type requestGen struct {
	r *rand.Rand
	// known are ids and names that exist on the server, so that requests
	// reach rows and not only 404s.
	known   []string
	maxBody int
}

var (
	oddStrings = []string{"", " ", "..", ".", "%", "%00", "\x00", "\xff\xfe", "😀", "null", "-1", "0", "1e999", "true",
		"' OR 1=1 --", "<script>", "../../etc/passwd", "a,b,,c", "asc", "desc", "created_at", "name", "id",
		"RUNNING", "SUCCESS", "ERROR", "PAUSED", "CANCELLED", "IDLE", "00000000-0000-4000-8000-000000000001",
		"std.echo", "std.noop", "hello_wf", "gt:2020-01-01", "in:a,b", "99999999999999999999999", "0.5", "-0"}
	Methods      = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"}
	ContentTypes = []string{"application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
		"application/json; charset=utf-16", "text/yaml", "", "garbage", "application/merge-patch+json", "application/cbor"}
)

func (g *requestGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *requestGen) str() string {
	switch g.r.IntN(6) {
	case 0, 1:
		if len(g.known) > 0 {
			return g.pick(g.known)
		}
		return g.pick(oddStrings)
	case 2:
		return strings.Repeat(g.pick([]string{"a", "é", "%", "/"}), 1+g.r.IntN(3000))
	case 3:
		b := make([]byte, g.r.IntN(40))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return string(b)
	}
	return g.pick(oddStrings)
}

// value is a random JSON value; depth bounds nesting.
func (g *requestGen) value(depth int) any {
	switch n := g.r.IntN(10); {
	case n == 0:
		return nil
	case n == 1:
		return g.r.IntN(3) == 0
	case n == 2:
		return []any{-1, 0, 1 << 53, 1e308, -1e-308, 0.5}[g.r.IntN(6)]
	case n <= 5 || depth <= 0:
		return g.str()
	case n <= 7:
		var out []any
		for i := g.r.IntN(4); i > 0; i-- {
			out = append(out, g.value(depth-1))
		}
		return out
	default:
		out := map[string]any{}
		for i := g.r.IntN(4); i > 0; i-- {
			out[g.str()] = g.value(depth - 1)
		}
		return out
	}
}

// body makes a request body for op: an object of its documented
// properties with random values (often as JSON-encoded strings, the way
// Mistral's clients send them), random JSON, YAML-looking text, bytes, or
// nothing.
func (g *requestGen) body(op Operation) []byte {
	switch g.r.IntN(10) {
	case 0:
		return nil
	case 5, 6, 7:
		if op.bodyExample != nil {
			return g.mutate(op.bodyExample)
		}
	case 1:
		b, _ := json.Marshal(g.value(3))
		return b
	case 2:
		return []byte(g.str())
	case 3:
		return []byte("version: '2.0'\n" + g.pick([]string{"wf", "hello_wf", "a"}) + ":\n  tasks:\n    t:\n      action: " +
			g.pick([]string{"std.noop", "std.echo output=<% $.x %>", "std.fail", "nope", "{{ 1/0 }}"}) + "\n" + g.pick([]string{"", "      on-success: t\n", "  input: [x]\n", "[\n"}))
	case 4:
		if g.r.IntN(5) == 0 {
			return bytes.Repeat([]byte("x"), g.maxBody+1+g.r.IntN(1024))
		}
	}
	obj := map[string]any{}
	for name := range op.bodyProps {
		if g.r.IntN(3) == 0 {
			continue
		}
		v := g.value(2)
		if g.r.IntN(3) == 0 {
			b, _ := json.Marshal(g.value(2))
			v = string(b)
		}
		obj[name] = v
	}
	if g.r.IntN(4) == 0 {
		obj[g.str()] = g.value(1)
	}
	b, _ := json.Marshal(obj)
	if g.r.IntN(8) == 0 && len(b) > 2 {
		b = b[:g.r.IntN(len(b))] // truncated
	}
	return b
}

// mutate returns the documented example of a body with one or two
// changes: a member dropped, replaced or added, a value of another type,
// a line of a YAML document removed or doubled. Such bodies get past the
// first checks and into the backend, where a real engine's code runs.
func (g *requestGen) mutate(example any) []byte {
	if text, ok := example.(string); ok {
		lines := strings.Split(text, "\n")
		for n := 1 + g.r.IntN(2); n > 0; n-- {
			i := g.r.IntN(len(lines))
			switch g.r.IntN(3) {
			case 0:
				lines = append(lines[:i], lines[i+1:]...)
			case 1:
				lines = append(lines[:i+1], lines[i:]...)
			default:
				lines[i] += g.pick([]string{" <% $.nope %>", ": [", "\t", " {{ _ }}", " *", "\x00"})
			}
			if len(lines) == 0 {
				break
			}
		}
		return []byte(strings.Join(lines, "\n"))
	}
	var walk func(v any, depth int) any
	walk = func(v any, depth int) any {
		switch v := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, x := range v {
				switch g.r.IntN(8) {
				case 0: // dropped
				case 1:
					out[k] = g.value(2)
				default:
					out[k] = walk(x, depth+1)
				}
			}
			if g.r.IntN(6) == 0 {
				out[g.str()] = g.value(1)
			}
			return out
		case []any:
			var out []any
			for _, x := range v {
				out = append(out, walk(x, depth+1))
			}
			return out
		}
		if g.r.IntN(4) == 0 {
			return g.value(1)
		}
		return v
	}
	b, _ := json.Marshal(walk(example, 0))
	return b
}

// request makes one random request for op; nil when the random pieces do
// not form an HTTP request at all (which no server would see).
func (g *requestGen) request(op Operation) (*http.Request, []byte) {
	method := op.method
	if g.r.IntN(8) == 0 {
		method = g.pick(Methods)
	}
	path := op.path
	query := url.Values{}
	for _, p := range op.params {
		switch p.in {
		case "path":
			v := g.str()
			if len(op.paramExamples) > 0 && g.r.IntN(4) == 0 {
				v = g.pick(op.paramExamples)
			}
			esc := url.PathEscape(v)
			if g.r.IntN(10) == 0 {
				esc = v // raw: slashes and all
			}
			path = strings.ReplaceAll(path, "{"+p.name+"}", esc)
		case "query":
			if g.r.IntN(2) == 0 {
				continue
			}
			v := g.str()
			if p.typ == "integer" || p.typ == "boolean" {
				v = g.pick([]string{"-1", "0", "1", "2", "1000", "99999999999999999999", "abc", "1.5", "true", "false", "yes", ""})
			}
			query.Add(p.name, v)
			if g.r.IntN(10) == 0 {
				query.Add(p.name, g.str())
			}
		}
	}
	if g.r.IntN(5) == 0 {
		query.Add(g.pick([]string{"fields", "all_projects", "namespace", "x", "limit"}), g.str())
	}
	var body []byte
	if len(op.bodyTypes) > 0 || g.r.IntN(10) == 0 {
		body = g.body(op)
	}
	req, err := http.NewRequest(method, path, bytes.NewReader(body))
	if err != nil {
		return nil, nil
	}
	req.URL.RawQuery = query.Encode()
	ct := g.pick(ContentTypes)
	if len(op.bodyTypes) > 0 && g.r.IntN(3) != 0 {
		ct = g.pick(op.bodyTypes)
	}
	if ct != "" && body != nil {
		req.Header.Set("Content-Type", ct)
	}
	if g.r.IntN(4) == 0 {
		req.Header.Set("Accept", g.pick([]string{"application/json", "text/plain", "*/*", "application/cbor", "text/html"}))
	}
	return req, body
}

// A longer or different run than the default, e.g. after a change of a
// handler: go test ./daemon/internal/api -run TestAPIRandomRequests
// -api.requests 2000 -api.seed 7.
var (
	requestsFlag = flag.Int("api.requests", 0, "random requests per operation in the apifuzz tests (0: the test's default)")
	seedFlag     = flag.Uint64("api.seed", 0, "added to the seed of the apifuzz tests (0: none)")
)

// Run sends n random requests to each operation.
func Run(t *testing.T, send Sender, ops []Operation, known []string, seed uint64, n, maxBody int) {
	t.Helper()
	if *requestsFlag > 0 {
		n = *requestsFlag
	}
	if *seedFlag > 0 {
		seed += *seedFlag
	}
	g := &requestGen{r: rand.New(rand.NewPCG(seed, 1)), known: known, maxBody: maxBody}
	for _, op := range ops {
		statuses := map[int]int{}
		for i := 0; i < n; i++ {
			req, body := g.request(op)
			if req == nil {
				continue
			}
			a := Send(op, send, req)
			statuses[a.Status]++
			CheckAnswer(t, op, req, body, a)
		}
		t.Logf("%s %s: %v", op.method, op.path, statuses)
	}
}

// SeedFromExamples sends the documented example of each creating operation, in
// an order in which they work (the workflow before its execution), then
// waits for the execution to end. It fails when an example is refused:
// the examples are what people copy. It returns the names and ids that
// exist, for the random requests to aim at.
func SeedFromExamples(t *testing.T, send Sender, ops []Operation) []string {
	t.Helper()
	byID := map[string]Operation{}
	for _, op := range ops {
		byID[op.id] = op
	}
	call := func(method, path, ctype string, body []byte) map[string]any {
		req, _ := http.NewRequest(method, path, bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		a := send(req)
		if a.Status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, a.Status, a.Body)
		}
		var out map[string]any
		_ = json.Unmarshal(a.Body, &out)
		return out
	}
	known := []string{"hello_wf", "std.echo", "std.noop"}
	var ids func(v any)
	ids = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "id" || k == "name") {
					known = append(known, s)
				}
				ids(x)
			}
		case []any:
			for _, x := range v {
				ids(x)
			}
		}
	}
	var execution string
	for _, id := range []string{"createWorkflows", "createActions", "createEnvironment", "createWorkbook", "startExecution", "createCronTrigger"} {
		op, ok := byID[id]
		if !ok {
			continue // a server without that resource
		}
		if op.bodyExample == nil {
			t.Fatalf("Operation %s has no documented request example", id)
		}
		ctype, body := "application/json", []byte(nil)
		if text, ok := op.bodyExample.(string); ok {
			ctype, body = "text/plain", []byte(text)
		} else {
			body, _ = json.Marshal(op.bodyExample)
		}
		out := call(op.method, op.path, ctype, body)
		ids(out)
		if id == "startExecution" {
			execution, _ = out["id"].(string)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ex := call("GET", "/v2/executions/"+execution, "", nil)
		if ex["state"] == "SUCCESS" {
			break
		}
		if ex["state"] != "RUNNING" || time.Now().After(deadline) {
			t.Fatalf("the example execution is %v: %v", ex["state"], ex["state_info"])
		}
	}
	tasks := call("GET", "/v2/executions/"+execution+"/tasks", "", nil)
	ids(tasks)
	for _, tk := range tasks["tasks"].([]any) {
		ids(call("GET", "/v2/tasks/"+tk.(map[string]any)["id"].(string)+"/action_executions", "", nil))
	}
	return known
}

// Send sends req, and ends a stream after a moment: what matters is how
// it starts.
func Send(op Operation, send Sender, req *http.Request) Answer {
	if !op.streams {
		return send(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), 50*time.Millisecond)
	defer cancel()
	return send(req.WithContext(ctx))
}

// FuzzRequest builds a request from what Go's fuzzer chose: an operation,
// a method (the operation's below 200), one value for every path
// parameter, a raw query, a content type and a body. It returns nil when
// those do not form an HTTP request.
func FuzzRequest(op Operation, method uint8, value, query string, ctype uint8, body []byte) *http.Request {
	m := op.method
	if method >= 200 {
		m = Methods[int(method)%len(Methods)]
	}
	path := op.path
	for _, p := range op.params {
		if p.in == "path" {
			path = strings.ReplaceAll(path, "{"+p.name+"}", url.PathEscape(value))
		}
	}
	req, err := http.NewRequest(m, path, bytes.NewReader(body))
	if err != nil {
		return nil
	}
	req.URL.RawQuery = query
	if ct := ContentTypes[int(ctype)%len(ContentTypes)]; ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return req
}
