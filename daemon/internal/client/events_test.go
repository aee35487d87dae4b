package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/server"
	"github.com/sirocco-wf/sirocco/daemon/internal/servertest"
)

// The SSE reader, on what a server or a proxy may send.
func TestReadEvents(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		want    []string // "type id name/state"
		wantErr string
	}{
		{"task and execution", "retry: 1000\n\nid: 1\nevent: task\ndata: {\"name\":\"a\",\"state\":\"RUNNING\"}\n\n" +
			"id: 2\nevent: execution\ndata: {\"workflow_name\":\"wf\",\"state\":\"SUCCESS\"}\n\n",
			[]string{"task 1 a/RUNNING", "execution 2 wf/SUCCESS"}, ""},
		{"comments, CRLF and a space-less field", ": keep-alive\r\n\r\nid:7\r\nevent:task\r\ndata:{\"name\":\"b\",\"state\":\"ERROR\"}\r\n\r\n",
			[]string{"task 7 b/ERROR"}, ""},
		{"data over several lines is joined", "event: task\ndata: {\"name\":\ndata: \"c\",\"state\":\"IDLE\"}\n\n",
			[]string{"task  c/IDLE"}, ""},
		{"the id stays until the next", "id: 9\nevent: task\ndata: {\"name\":\"d\"}\n\nevent: task\ndata: {\"name\":\"e\"}\n\n",
			[]string{"task 9 d/", "task 9 e/"}, ""},
		{"an unknown event is passed on without data", "event: progress\ndata: 42\n\n", []string{"progress  -"}, ""},
		{"the last event needs its blank line", "event: task\ndata: {\"name\":\"f\"}\n", nil, ""},
		{"data that is not the shape", "event: task\ndata: [1]\n\n", nil, `event "task"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := readEvents(strings.NewReader(tc.stream), func(ev Event) {
				what := "-"
				switch {
				case ev.Task != nil:
					what = ev.Task.Name + "/" + ev.Task.State
				case ev.Execution != nil:
					what = ev.Execution.WorkflowName + "/" + ev.Execution.State
				}
				got = append(got, ev.Type+" "+ev.ID+" "+what)
			}, func() {})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// cutter is a TCP proxy in front of the server that can drop every open
// connection, as a restarting load balancer or a flaky network does, and
// remembers the Last-Event-ID of each event stream request.
type cutter struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	conns   []net.Conn
	lastIDs []string // one per events request: its Last-Event-ID
}

func newCutter(t *testing.T, target string) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &cutter{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); c.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
			go c.forward(out, in)
		}
	}()
	return c
}

// forward copies a request stream, noting the Last-Event-ID of event
// stream requests (a request's head arrives in its first read here).
func (c *cutter) forward(out, in net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			head := string(buf[:n])
			if strings.Contains(head, "/events HTTP/1.1") {
				id := ""
				for _, l := range strings.Split(head, "\r\n") {
					if k, v, ok := strings.Cut(l, ": "); ok && strings.EqualFold(k, "Last-Event-ID") {
						id = v
					}
				}
				c.mu.Lock()
				c.lastIDs = append(c.lastIDs, id)
				c.mu.Unlock()
			}
			if _, werr := out.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			out.Close()
			return
		}
	}
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

func (c *cutter) requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lastIDs...)
}

// A watch whose connection drops reconnects with the last event's id and
// still sees the execution to its end.
func TestWatchExecutionResumes(t *testing.T) {
	addr := strings.TrimPrefix(servertest.Start(t, server.Config{}), "http://")
	direct, err := New("http://"+addr, nil)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = direct.CreateWorkflows(ctx, []byte("version: '2.0'\nwait_wf:\n  tasks:\n    wait:\n      action: std.async_noop\n      on-success: after\n    after:\n      action: std.noop\n"))
	require.NoError(t, err)
	ex, err := direct.StartExecution(ctx, StartRequest{WorkflowName: "wait_wf"})
	require.NoError(t, err)

	proxy := newCutter(t, addr)
	viaProxy, err := New("http://"+proxy.ln.Addr().String(), nil)
	require.NoError(t, err)

	waiting := make(chan string, 1) // the waiting task's id, once it runs
	var mu sync.Mutex
	states := map[string]string{}
	type result struct {
		ex  *api.Execution
		err error
	}
	done := make(chan result, 1)
	go func() {
		final, err := viaProxy.WatchExecution(ctx, ex.ID, func(ev Event) {
			if ev.Task == nil {
				return
			}
			mu.Lock()
			states[ev.Task.Name] = ev.Task.State
			mu.Unlock()
			if ev.Task.Name == "wait" && ev.Task.State == "RUNNING" {
				select {
				case waiting <- ev.Task.ID:
				default:
				}
			}
		})
		done <- result{final, err}
	}()
	var taskID string
	select {
	case taskID = <-waiting:
	case <-time.After(30 * time.Second):
		t.Fatal("the watch saw no running task")
	}
	proxy.cut()

	aes, err := direct.ListActionExecutions(ctx, ListOpts{Filters: map[string]string{"task_execution_id": taskID}})
	require.NoError(t, err)
	require.Len(t, aes, 1)
	_, err = direct.CompleteActionExecution(ctx, aes[0].ID, "SUCCESS", "ok")
	require.NoError(t, err)

	var r result
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the watch did not end")
	}
	require.NoError(t, r.err)
	require.Equal(t, "SUCCESS", r.ex.State)
	mu.Lock()
	require.Equal(t, map[string]string{"wait": "SUCCESS", "after": "SUCCESS"}, states)
	mu.Unlock()
	reqs := proxy.requests()
	require.GreaterOrEqual(t, len(reqs), 2, "the watch reconnected")
	require.Empty(t, reqs[0], "the first request has no Last-Event-ID")
	require.NotEmpty(t, reqs[1], "a reconnection resumes from the last event")
}

// A server without the event stream answers 404 for it while the
// execution exists: WatchExecution says so, so the caller can poll.
func TestWatchExecutionWithoutEvents(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/executions/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":"x","state":"RUNNING"}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"faultstring": "Resource not found"}`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	c, err := New("http://"+ln.Addr().String(), nil)
	require.NoError(t, err)
	_, err = c.WatchExecution(context.Background(), "x", func(Event) {})
	require.True(t, errors.Is(err, ErrNoEvents), "error = %v", err)
}
