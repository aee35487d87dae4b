//go:build linux

package failure

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// client talks to the /v2 API of the servers. A request to a killed
// server fails fast instead of hanging the test.
var client = &http.Client{Timeout: 10 * time.Second}

type execution struct {
	ID        string  `json:"id"`
	State     string  `json:"state"`
	StateInfo *string `json:"state_info"`
	Input     string  `json:"input"`
	Output    *string `json:"output"`
	UpdatedAt *string `json:"updated_at"`
}

type task struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	State     string  `json:"state"`
	StateInfo *string `json:"state_info"`
	Published string  `json:"published"`
	CreatedAt *string `json:"created_at"`
	UpdatedAt *string `json:"updated_at"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// do sends a request and decodes a 2xx JSON answer into out.
func do(method, u, contentType, body string, out any) (int, error) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w in %s", method, u, err, b)
		}
	}
	return resp.StatusCode, nil
}

func createWorkflow(base, yaml string) error {
	code, err := do("POST", base+"/v2/workflows", "text/plain", yaml, nil)
	if code == http.StatusConflict {
		return nil
	}
	return err
}

// startExecution starts workflow wf with a client-chosen id, so that a
// retry after an error (a server killed, PostgreSQL restarting) cannot
// start it twice.
func startExecution(base, id, wf string, input map[string]any) error {
	in, _ := json.Marshal(input)
	body, _ := json.Marshal(map[string]any{"id": id, "workflow_name": wf, "input": string(in)})
	_, err := do("POST", base+"/v2/executions", "application/json", string(body), nil)
	return err
}

func getExecution(base, id string) (execution, error) {
	var ex execution
	_, err := do("GET", base+"/v2/executions/"+id, "", "", &ex)
	return ex, err
}

// listExecutions lists every execution of workflow wf, with outputs.
func listExecutions(base, wf string) ([]execution, error) {
	var out struct {
		Executions []execution `json:"executions"`
	}
	_, err := do("GET", base+"/v2/executions?include_output=true&limit=0&workflow_name="+url.QueryEscape(wf), "", "", &out)
	return out.Executions, err
}

func listTasks(base, id string) ([]task, error) {
	var out struct {
		Tasks []task `json:"tasks"`
	}
	_, err := do("GET", base+"/v2/executions/"+id+"/tasks", "", "", &out)
	return out.Tasks, err
}

// executorEntry is what GET /v2/executors says of one host; only the
// fields the tests read.
type executorEntry struct {
	ID      string `json:"id"`
	Host    string `json:"host"`
	Target  string `json:"target"`
	Running *int   `json:"running"`
}

func listExecutors(base string) ([]executorEntry, error) {
	var out struct {
		Executors []executorEntry `json:"executors"`
	}
	_, err := do("GET", base+"/v2/executors", "", "", &out)
	return out.Executors, err
}

// anyOf tries each server in turn, so that a request survives the death
// of one of them.
func anyOf[T any](bases []string, f func(base string) (T, error)) (T, error) {
	var errs []string
	for _, b := range bases {
		v, err := f(b)
		if err == nil {
			return v, nil
		}
		errs = append(errs, err.Error())
	}
	var zero T
	return zero, fmt.Errorf("%s", strings.Join(errs, "; "))
}

// counter is the outside world of the failure tests: an HTTP server that
// std.http tasks call. It records every request it receives by task and
// execution (when it came and when it ended), so a test can tell how often
// each action ran and whether a run was under way at a given moment. It
// holds each request for delay_ms, so that kills land mid-action, and
// answers {"value": n * factor} so the workflow's result is known in
// advance.
type counter struct {
	mu   sync.Mutex
	runs map[string][]*span // "task/execution" -> one span per request
}

// span is one request: when it arrived and when its handler returned
// (zero while it runs).
type span struct{ start, end time.Time }

func newCounter() *counter { return &counter{runs: map[string][]*span{}} }

// factors are the multipliers of the counter's answers, per task.
var factors = map[string]int64{"once": 3, "slow": 5}

// ServeHTTP handles /TASK/EXECUTION_ID?n=N&delay_ms=D.
func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 2 {
		http.Error(w, "want /TASK/EXECUTION_ID", http.StatusNotFound)
		return
	}
	key := parts[0] + "/" + parts[1]
	n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
	delay, _ := strconv.Atoi(r.URL.Query().Get("delay_ms"))
	sp := &span{start: time.Now()}
	c.mu.Lock()
	c.runs[key] = append(c.runs[key], sp)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		sp.end = time.Now()
		c.mu.Unlock()
	}()
	select {
	case <-time.After(time.Duration(delay) * time.Millisecond):
	case <-r.Context().Done():
		return // the caller died; the run was started, so it counts
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"value": %d}`, n*factors[parts[0]])
}

// calls is how many requests the counter has received.
func (c *counter) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.runs {
		n += len(r)
	}
	return n
}

// spans returns copies of the runs of task for execution id, oldest first.
func (c *counter) spans(taskName, id string) []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []span
	for _, sp := range c.runs[taskName+"/"+id] {
		out = append(out, *sp)
	}
	return out
}

// started counts the executions whose task has been called at least once.
func (c *counter) started(taskName string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k := range c.runs {
		if strings.HasPrefix(k, taskName+"/") {
			n++
		}
	}
	return n
}

// overlaps says whether sp was under way at some moment of iv.
func (sp span) overlaps(iv interval) bool {
	return !sp.start.After(iv.to) && (sp.end.IsZero() || !sp.end.Before(iv.from))
}
