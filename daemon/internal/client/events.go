package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
)

// Event is one event of an execution's stream
// (GET /v2/executions/{id}/events). Exactly one of Task and Execution is
// set for the event types this client knows; others arrive with neither,
// so a newer server does not break an older client.
type Event struct {
	ID        string
	Type      string // api.EventTask, api.EventExecution, ...
	Task      *api.Task
	Execution *api.Execution
}

// ErrNoEvents is returned by WatchExecution when the server does not
// stream events (an older Sirocco, or Mistral itself); polling with
// WaitExecution still works there.
var ErrNoEvents = errors.New("the server does not stream execution events")

// Stream tuning. idleTimeout is well above the server's heartbeat
// (api.EventHeartbeat), so only a dead connection trips it.
const (
	idleTimeout     = 3 * api.EventHeartbeat
	maxEventLine    = 64 << 20
	retryFirst      = 250 * time.Millisecond
	retryMax        = 5 * time.Second
	maxFailedTries  = 8 // about 25 s of a server that cannot be reached
	eventStreamType = "text/event-stream"
)

// WatchExecution follows an execution's event stream until the execution
// ends and returns its final state; fn sees every event on the way. When
// the connection breaks it reconnects with the last event's id, so no
// change is lost (a few may come twice; events carry whole states). It
// gives up when ctx ends or the server cannot be reached several times in
// a row.
func (c *Client) WatchExecution(ctx context.Context, id string, fn func(Event)) (*api.Execution, error) {
	var (
		lastID  string
		final   *api.Execution
		failed  int
		backoff = retryFirst
	)
	for {
		progressed := false
		err := c.streamEvents(ctx, id, lastID, func(ev Event) {
			progressed = true
			if ev.ID != "" {
				lastID = ev.ID
			}
			if ev.Execution != nil && Terminal(ev.Execution.State) {
				final = ev.Execution
			}
			fn(ev)
		})
		if final != nil {
			return final, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("watching execution %s: %w", id, ctx.Err())
		}
		var se *Error
		if errors.As(err, &se) && se.Status < 500 {
			if se.Status == http.StatusNotFound && lastID == "" {
				// No such execution, or no such endpoint: only the
				// execution itself can tell which.
				if _, gerr := c.GetExecution(ctx, id); gerr == nil {
					return nil, ErrNoEvents
				}
			}
			return nil, err
		}
		if progressed {
			failed, backoff = 0, retryFirst
		}
		if failed++; failed >= maxFailedTries {
			if err == nil {
				err = errors.New("the stream kept ending before the execution did")
			}
			return nil, fmt.Errorf("lost the event stream of execution %s: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("watching execution %s: %w", id, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, retryMax)
	}
}

// streamEvents reads one connection of the stream, calling fn for each
// event, until the server ends it (nil) or it fails.
func (c *Client) streamEvents(ctx context.Context, id, lastID string, fn func(Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	path := "/v2/executions/" + esc(id) + "/events"
	req, err := c.newStreamRequest(ctx, path, lastID)
	if err != nil {
		return err
	}
	// The stream lasts as long as the execution: no overall timeout, but
	// a watchdog that drops a connection silent for longer than the
	// server's heartbeat allows.
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the Sirocco server: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return problem(resp, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, eventStreamType) {
		return fmt.Errorf("GET %s: the server answered %s, not an event stream", path, ct)
	}
	idle := time.AfterFunc(idleTimeout, cancel)
	defer idle.Stop()
	return readEvents(resp.Body, func(ev Event) { idle.Reset(idleTimeout); fn(ev) }, func() { idle.Reset(idleTimeout) })
}

func (c *Client) newStreamRequest(ctx context.Context, path, lastID string) (*http.Request, error) {
	u := *c.base
	u.Path += path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Accept", eventStreamType)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	c.authorize(req)
	return req, nil
}

// readEvents parses Server-Sent Events (the WHATWG format: field lines,
// an empty line ends an event, lines starting with ":" are comments) and
// calls fn for each complete event and alive for every line. It returns
// nil at the end of the stream.
func readEvents(r io.Reader, fn func(Event), alive func()) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var typ, id string
	var data strings.Builder
	for {
		line, err := readLine(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading the event stream: %w", err)
		}
		alive()
		if line == "" {
			if data.Len() > 0 || typ != "" {
				ev, err := decodeEvent(typ, id, data.String())
				if err != nil {
					return err
				}
				fn(ev)
			}
			typ = ""
			data.Reset()
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			typ = value
		case "id":
			id = value // the id persists until the next one, per the spec
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(value)
		}
	}
}

// readLine reads one line without its end (\n or \r\n), refusing lines
// longer than maxEventLine so a broken server cannot exhaust memory.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxEventLine {
			return "", fmt.Errorf("an event is larger than %d bytes", maxEventLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && (len(b) == 0 || !errors.Is(err, io.EOF)) {
			return "", err
		}
		return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
	}
}

func decodeEvent(typ, id, data string) (Event, error) {
	ev := Event{ID: id, Type: typ}
	var target any
	switch typ {
	case api.EventTask:
		ev.Task = &api.Task{}
		target = ev.Task
	case api.EventExecution:
		ev.Execution = &api.Execution{}
		target = ev.Execution
	default:
		return ev, nil
	}
	if err := json.Unmarshal([]byte(data), target); err != nil {
		return ev, fmt.Errorf("event %q (id %s) is not what this client expects: %w", typ, id, err)
	}
	return ev, nil
}
