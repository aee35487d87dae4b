// Package api serves Sirocco's HTTP API: the Mistral-compatible /v2 endpoints
// that existing Mistral tools (python-mistralclient, the Mistral dashboard)
// talk to, plus Sirocco's own endpoints (/healthz, /openapi.json, /docs).
//
// The package knows nothing about how workflows run: it translates HTTP to
// calls on a Backend (the engine implements it) and store rows back to
// Mistral's JSON shapes. That keeps the wire format testable against a fake
// backend and lets the engine change without touching the wire contract.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// Backend is what the API needs from the engine. It is the only dependency
// of this package on the rest of the daemon, so the API can be tested with a
// fake and the engine can be replaced without changing the wire format.
//
// Errors are classified by the API: errors.Is(err, store.ErrNotFound) is
// answered 404, errors.Is(err, store.ErrConflict) 409, an error with a method
// BadRequest() bool that returns true 400, and anything else 500 with a
// generic message (the error itself is logged, not shown). The text of 4xx
// errors is shown to the user, so it should name what was wrong and where
// (a YAML line, a task name, a workflow name).
type Backend interface {
	// CreateWorkflows parses a whole workflow-language v2 document and stores
	// every workflow it defines. Parse and validation errors must implement
	// BadRequest() bool and carry the line in their text.
	CreateWorkflows(ctx context.Context, definition string) ([]*store.WorkflowDef, error)
	// GetWorkflow finds a workflow by name or by id, as Mistral's
	// GET /v2/workflows/{identifier} does.
	GetWorkflow(ctx context.Context, name string) (*store.WorkflowDef, error)
	ListWorkflows(ctx context.Context, o store.ListOpts) ([]*store.WorkflowDef, error)
	// StartExecution creates and starts a workflow execution. Unknown
	// workflows are store.ErrNotFound, a reused id store.ErrConflict, input
	// that does not fit the workflow a BadRequest error.
	StartExecution(ctx context.Context, r StartRequest) (*store.Execution, error)
	GetExecution(ctx context.Context, id string) (*store.Execution, error)
	ListExecutions(ctx context.Context, o store.ListOpts) ([]*store.Execution, error)
	// ListTasks lists the task executions of one workflow execution;
	// store.ErrNotFound when the execution does not exist.
	ListTasks(ctx context.Context, executionID string) ([]*store.TaskExecution, error)
}

// StartRequest is a request to start a workflow execution, already decoded
// from the wire: Input and Params are objects whatever form the client sent
// them in (Mistral's clients send JSON-encoded strings). ID is empty unless
// the client chose the execution's id.
type StartRequest struct {
	ID, WorkflowName, Description string
	Input, Params                 map[string]any
}

// DefaultMaxBodyBytes bounds request bodies when Options.MaxBodyBytes is
// zero: large enough for any real workflow document or input, small enough
// that a stray upload cannot exhaust memory.
const DefaultMaxBodyBytes = 4 << 20

// Options configures the handler built by New.
type Options struct {
	// Version is reported in the OpenAPI document and by /healthz.
	Version string
	// MaxBodyBytes limits every request body; larger bodies are answered
	// 413. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Metrics, when set, is served at /metrics (Prometheus text format).
	Metrics http.Handler
	// Auth, when it holds tokens, makes every request but the open ones
	// (probes, metrics, docs) carry one of them; nil leaves the API open.
	Auth *Tokens
	// Stopping, once closed, ends every open event stream
	// (GET /v2/executions/{id}/events). http.Server.Shutdown waits for
	// active requests, and a stream stays active until its execution
	// ends, so the owner of the server closes this when shutdown begins
	// (http.Server.RegisterOnShutdown); the clients reconnect and resume
	// from their last event. Nil leaves streams to end with their
	// executions or their clients.
	Stopping <-chan struct{}
}

// server holds what every operation needs.
type server struct {
	b       Backend
	log     hclog.Logger
	opts    Options
	maxBody int64
}

// New builds the HTTP handler of the whole API. It never starts goroutines
// or listeners of its own: the caller owns the http.Server and its shutdown.
func New(b Backend, log hclog.Logger, opts Options) http.Handler {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	s := &server{b: b, log: log.Named("api"), opts: opts, maxBody: opts.MaxBodyBytes}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	version := opts.Version
	if version == "" {
		version = "dev"
	}

	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("Sirocco API", version)
	// The default create hook adds a "$schema" member to every response
	// body; Mistral's clients do not expect it, and the /v2 shapes must stay
	// exactly Mistral's.
	cfg.CreateHooks = nil
	cfg.Info.Description = "Sirocco runs OpenStack Mistral v2 workflows. " +
		"The /v2 endpoints follow Mistral's v2 API (same paths, field names and shapes); " +
		"errors are RFC 9457 problem+json."
	cfg.Transformers = append(cfg.Transformers, problemTransformer)
	hapi := humago.New(mux, cfg)

	s.registerHealth(hapi)
	s.registerReady(hapi)
	s.registerWorkflows(hapi)
	s.registerExecutions(hapi)
	s.registerValidate(hapi)
	s.registerCatalog(hapi)
	s.registerExecutors(hapi)
	s.registerActionExecutions(hapi)
	s.registerExecutionUpdates(hapi)
	s.registerCronTriggers(hapi)
	s.registerEnvironments(hapi)
	s.registerWorkbooks(hapi)
	s.registerDefs(hapi)
	s.registerTaskUpdate(hapi)
	s.registerActionGet(hapi)
	s.registerActionExecutionList(hapi)
	s.registerEvents(hapi)
	s.registerAdhocActions(hapi)
	s.registerActionRuns(hapi)
	s.registerKeystone(hapi)

	addExamples(hapi.OpenAPI())

	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}

	return s.recoverPanics(authenticate(opts.Auth, unrouted(mux)))
}

// unrouted answers in problem+json what mux routes to no operation, so
// every error a client sees has the same shape: 404 for an unknown path,
// and 405 with an Allow header for a known path asked with a method it
// does not take, as Mistral answers. huma's humago adapter registers each
// operation on net/http's ServeMux as a method pattern ("GET /v2/..."), so
// the mux knows a path's methods and answers 405 itself; a catch-all "/"
// route would match every method and hide those 405s behind a 404, so
// there is none, and the mux's own 404 and 405 answers are rewritten here.
func unrouted(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A second lookup per request, which is a few map reads: the
		// mux sets path values only when it serves the request itself.
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No pattern: h is the mux's 404 or 405. Keep its status and
		// Allow header; drop its text/plain body.
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			writeProblem(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s takes %s, not %s", r.URL.Path, allow, r.Method))
			return
		}
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

// statusRecorder keeps the status and headers a handler writes and drops
// its body.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return len(p), nil
}

// recoverPanics turns a panic in a handler into a logged problem+json 500:
// a bug must cost one request, not the daemon.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeProblem(w, http.StatusInternalServerError, "internal error; the server log has the details")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Problem is the error body of every failed request: RFC 9457
// problem+json (huma's model) plus "faultstring", the member in which
// Mistral puts its error text and which python-mistralclient shows to the
// user. Detail and faultstring carry the same text.
type Problem struct {
	*huma.ErrorModel
	Faultstring string `json:"faultstring"`
}

// problemTransformer rewrites huma's error bodies into Problem. When huma
// reports a list of validation errors its detail is only "validation
// failed", so the list is folded into the detail: a person reading just
// the detail (the CLI, mistralclient) must learn what to fix.
func problemTransformer(_ huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	return newProblem(em), nil
}

func newProblem(em *huma.ErrorModel) *Problem {
	if len(em.Errors) > 0 {
		parts := make([]string, 0, len(em.Errors))
		for _, d := range em.Errors {
			msg := d.Message
			if d.Location != "" {
				msg = d.Location + ": " + msg
			}
			parts = append(parts, msg)
		}
		detail := strings.Join(parts, "; ")
		if em.Detail != "" {
			detail = em.Detail + ": " + detail
		}
		em.Detail = detail
	}
	return &Problem{ErrorModel: em, Faultstring: em.Detail}
}

// writeProblem writes a Problem outside huma (the fallback route and the
// panic guard), in the same shape huma's operations use.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	em := &huma.ErrorModel{Title: http.StatusText(status), Status: status, Detail: detail}
	_ = huma.DefaultJSONFormat.Marshal(w, newProblem(em))
}

// badRequester is the error class backends use for "the caller sent
// something wrong".
type badRequester interface{ BadRequest() bool }

// fail maps a backend error to an HTTP problem. 4xx texts are passed
// through because they name what the user must fix (the YAML line, the
// unknown workflow); anything else is logged and answered with a generic
// message, since it may carry internals (SQL, file paths).
func (s *server) fail(op string, err error) error {
	var br badRequester
	switch {
	case errors.Is(err, store.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, store.ErrConflict):
		return huma.Error409Conflict(err.Error())
	case errors.As(err, &br) && br.BadRequest():
		return huma.Error400BadRequest(err.Error())
	case errors.Is(err, context.Canceled):
		// The client went away; nobody will read the answer.
		s.log.Debug("request cancelled", "op", op)
		return huma.NewError(499, "request cancelled")
	default:
		s.log.Error("backend failed", "op", op, "error", err)
		return huma.Error500InternalServerError("internal error while " + op + "; the server log has the details")
	}
}

// badRequest is this package's own 400 for wire-level mistakes (a field
// that is not a JSON object, an unknown sort key).
func badRequest(format string, a ...any) error {
	return huma.Error400BadRequest(strings.TrimSpace(fmt.Sprintf(format, a...)))
}
