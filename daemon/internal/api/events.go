package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// GET /v2/executions/{id}/events streams an execution's progress as
// Server-Sent Events, so a CLI or a web page shows tasks start and end
// without polling the API itself.
//
// The stream is fed by reading the execution and its task list through the
// Backend every EventPollInterval and sending what changed since the last
// read (a row's updated_at or state). That costs one execution read and one
// task listing per interval per open stream and adds up to one interval of
// latency, but it needs nothing from the engine, sees every change however
// it was made (any engine, the API, a restart) and cannot miss one: a
// change is a row the next read finds. An engine that announces its
// changes could feed the same stream later without changing the wire.
//
// huma's sse package is not used: it cannot answer 404 before the stream
// starts, nor send the heartbeat comments proxies need, and it reports to
// stderr. The operation is described in the OpenAPI document all the same.

// Event names of the stream.
const (
	// EventTask carries a task execution, in the shape of
	// GET /v2/executions/{id}/tasks (without its result).
	EventTask = "task"
	// EventExecution carries the execution, in the shape of
	// GET /v2/executions/{id}. The stream ends after it carries a final
	// state (SUCCESS, ERROR, CANCELLED).
	EventExecution = "execution"
)

const (
	// EventPollInterval is how often a stream reads the execution and its
	// tasks: the latency of the stream.
	EventPollInterval = 200 * time.Millisecond
	// EventHeartbeat is the longest a stream stays silent: a comment line
	// then keeps proxies from closing it and lets a client tell a quiet
	// execution from a dead connection.
	EventHeartbeat = 15 * time.Second
	// EventResumeSlack is how far before a Last-Event-ID a resumed stream
	// starts again. Rows are stamped with the wall clock of the process
	// that wrote them; the slack covers clocks of several engines that
	// differ by less than that, at the cost of repeating a few events
	// (which carry whole states, so a repeat is harmless).
	EventResumeSlack = 2 * time.Second
	// eventWriteTimeout bounds one write, so a client that stops reading
	// costs the server a stream for at most this long.
	eventWriteTimeout = 30 * time.Second
	// eventRetryMillis is the reconnection delay the stream suggests.
	eventRetryMillis = 1000
)

type executionEventsInput struct {
	ID          string `path:"id" doc:"Execution id."`
	LastEventID string `header:"Last-Event-ID" doc:"The id of the last event a client received: a resumed stream sends only what changed after it (and a little before, see the description). Browsers send it when they reconnect."`
}

// sseEvent is one event to send; at is the updated_at of the row it
// carries.
type sseEvent struct {
	name string
	at   time.Time
	data any
}

// rowVersion is what tells a row changed between two reads.
type rowVersion struct {
	at    time.Time
	state string
}

// eventDiff turns successive reads of an execution and its tasks into
// the events a client has not seen. It holds no I/O, so the rules
// (order, resume, end) are table tests.
type eventDiff struct {
	// since is the resume point: rows last written before it are known
	// to the client and not sent on the first read. Zero sends all.
	since time.Time
	// cursor is the newest updated_at sent; it becomes the event id.
	cursor time.Time
	tasks  map[string]rowVersion
	exec   rowVersion
	read   bool // a read has been diffed
}

func newEventDiff(since time.Time) *eventDiff {
	d := &eventDiff{tasks: map[string]rowVersion{}, cursor: since}
	if !since.IsZero() {
		d.since = since.Add(-EventResumeSlack)
	}
	return d
}

// next returns the events of one read, oldest first, and whether the
// stream is over. A final execution is sent last and always, even on a
// resume that knew it, so every stream ends with the execution's final
// state.
func (d *eventDiff) next(e *store.Execution, tasks []*store.TaskExecution) (events []sseEvent, done bool) {
	fresh := func(old rowVersion, seen bool, v rowVersion) bool {
		if seen {
			return old != v
		}
		return d.read || !v.at.Before(d.since)
	}
	for _, t := range tasks {
		v := rowVersion{t.UpdatedAt, t.State}
		old, seen := d.tasks[t.ID]
		if fresh(old, seen, v) {
			events = append(events, sseEvent{EventTask, t.UpdatedAt, toTask(t, e.WorkflowID, e.Namespace, false)})
		}
		d.tasks[t.ID] = v
	}
	v := rowVersion{e.UpdatedAt, e.State}
	final := terminal(e.State)
	execEvent := fresh(d.exec, d.read, v) || final
	d.exec = v
	d.read = true
	sort.SliceStable(events, func(i, j int) bool { return events[i].at.Before(events[j].at) })
	if execEvent {
		ev := sseEvent{EventExecution, e.UpdatedAt, toExecution(e, viewGet)}
		if final {
			events = append(events, ev)
		} else {
			i := sort.Search(len(events), func(i int) bool { return events[i].at.After(e.UpdatedAt) })
			events = append(events[:i], append([]sseEvent{ev}, events[i:]...)...)
		}
	}
	return events, final
}

// id advances the cursor to ev and returns it as the event's id: the
// cursor's Unix time in microseconds, which never goes backwards.
func (d *eventDiff) id(ev sseEvent) string {
	if ev.at.After(d.cursor) {
		d.cursor = ev.at
	}
	return strconv.FormatInt(d.cursor.UnixMicro(), 10)
}

// parseEventID reads a Last-Event-ID; empty means none.
func parseEventID(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, badRequest("Last-Event-ID %q is not an id this stream sent (they are decimal numbers)", s)
	}
	return time.UnixMicro(n).UTC(), nil
}

func (s *server) registerEvents(hapi huma.API) {
	op := huma.Operation{
		OperationID: "streamExecutionEvents",
		Method:      http.MethodGet,
		Path:        "/v2/executions/{id}/events",
		Summary:     "Stream an execution's progress (Server-Sent Events)",
		Description: "A Sirocco extension of the Mistral API. A text/event-stream of `task` events (a task execution, as in GET /v2/executions/{id}/tasks, without result) " +
			"and `execution` events (the execution, as in GET /v2/executions/{id}). It starts with the current state of the execution and of every task, " +
			"then sends each change, and ends after the execution event that carries a final state (SUCCESS, ERROR or CANCELLED). " +
			"Changes are read every " + EventPollInterval.String() + ", which is the latency of the stream; a comment line is sent after " +
			EventHeartbeat.String() + " of silence. Each event's id is a position in the execution's history: a client that reconnects with it " +
			"in Last-Event-ID gets what changed after it, and the changes of the " + EventResumeSlack.String() + " before it again (events carry whole states, so a repeat is harmless). " +
			"Tasks of sub-workflow executions are not included: stream the sub-workflow execution itself.",
		Tags:   []string{"Executions"},
		Errors: []int{http.StatusBadRequest, http.StatusNotFound},
	}
	s.describeEventStream(hapi, &op)
	huma.Register(hapi, op, func(ctx context.Context, in *executionEventsInput) (*huma.StreamResponse, error) {
		since, err := parseEventID(in.LastEventID)
		if err != nil {
			return nil, err
		}
		// Read once before answering, so an unknown execution is a 404
		// rather than a stream that ends at once.
		if _, err := s.b.GetExecution(ctx, in.ID); err != nil {
			return nil, s.fail("reading an execution", annotate(err, "execution", in.ID))
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			s.streamEvents(hctx, in.ID, newEventDiff(since))
		}}, nil
	})
}

// describeEventStream documents the stream's events in the OpenAPI
// document: one schema per event name, as the SSE convention of huma does.
func (s *server) describeEventStream(hapi huma.API, op *huma.Operation) {
	reg := hapi.OpenAPI().Components.Schemas
	var kinds []*huma.Schema
	for _, k := range []struct {
		name string
		typ  reflect.Type
	}{{EventExecution, reflect.TypeOf(Execution{})}, {EventTask, reflect.TypeOf(Task{})}} {
		kinds = append(kinds, &huma.Schema{
			Title: "Event " + k.name,
			Type:  huma.TypeObject,
			Properties: map[string]*huma.Schema{
				"id":    {Type: huma.TypeString, Description: "Position in the execution's history; send it back as Last-Event-ID to resume."},
				"event": {Type: huma.TypeString, Enum: []any{k.name}},
				"data":  reg.Schema(k.typ, true, k.name),
			},
			Required: []string{"id", "event", "data"},
		})
	}
	op.Responses = map[string]*huma.Response{
		"200": {
			Description: "The event stream.",
			Content: map[string]*huma.MediaType{
				"text/event-stream": {Schema: &huma.Schema{
					Title:       "Server-Sent Events",
					Description: "Each item is one event, written as SSE text: `id:`, `event:` and one `data:` line of JSON, then an empty line.",
					Type:        huma.TypeArray,
					Items:       &huma.Schema{OneOf: kinds},
				}},
			},
		},
	}
}

// streamEvents writes the stream until the execution ends, the client
// goes away, the server stops or the backend fails (the client then
// reconnects and resumes).
func (s *server) streamEvents(hctx huma.Context, id string, d *eventDiff) {
	ctx := hctx.Context()
	hctx.SetHeader("Content-Type", "text/event-stream")
	hctx.SetHeader("Cache-Control", "no-cache")
	hctx.SetHeader("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w := &sseWriter{w: hctx.BodyWriter()}
	if rw, ok := w.w.(http.ResponseWriter); ok {
		w.rc = http.NewResponseController(rw)
	}
	if err := w.write(fmt.Sprintf("retry: %d\n\n", eventRetryMillis)); err != nil {
		return
	}
	tick := time.NewTicker(EventPollInterval)
	defer tick.Stop()
	quiet := time.Now()
	for {
		e, err := s.b.GetExecution(ctx, id)
		var tasks []*store.TaskExecution
		if err == nil {
			// After the execution: a final state read here comes with
			// every task's final state, which its transaction wrote.
			tasks, err = s.b.ListTasks(ctx, id)
		}
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				s.log.Warn("event stream ends: reading the execution failed", "execution", id, "error", err)
			}
			return
		}
		events, done := d.next(e, tasks)
		for _, ev := range events {
			data, err := json.Marshal(ev.data)
			if err != nil {
				s.log.Error("event stream ends: encoding an event failed", "execution", id, "error", err)
				return
			}
			if err := w.write(fmt.Sprintf("id: %s\nevent: %s\ndata: %s\n\n", d.id(ev), ev.name, data)); err != nil {
				return
			}
			quiet = time.Now()
		}
		if done {
			return
		}
		if time.Since(quiet) >= EventHeartbeat {
			if err := w.write(": keep-alive\n\n"); err != nil {
				return
			}
			quiet = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.opts.Stopping:
			return
		case <-tick.C:
		}
	}
}

// sseWriter writes and flushes each frame, with a deadline per write when
// the connection supports one.
type sseWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (w *sseWriter) write(frame string) error {
	if w.rc != nil {
		_ = w.rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout)) // not every writer has deadlines
	}
	if _, err := io.WriteString(w.w, frame); err != nil {
		return err
	}
	if w.rc != nil {
		return w.rc.Flush()
	}
	if f, ok := w.w.(http.Flusher); ok {
		f.Flush()
		return nil
	}
	return fmt.Errorf("the response writer cannot flush: %w", http.ErrNotSupported)
}
