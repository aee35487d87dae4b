package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

type readyBody struct {
	Status string           `json:"status"`
	Checks []api.ReadyCheck `json:"checks"`
}

type problemBody struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// readyz fetches /readyz and decodes either answer.
func readyz(t *testing.T, base string) (int, string, readyBody, problemBody) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ok readyBody
	var bad problemBody
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	if resp.StatusCode == http.StatusOK {
		_ = json.Unmarshal(raw, &ok)
	} else {
		_ = json.Unmarshal(raw, &bad)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), ok, bad
}

func checkNames(cs []api.ReadyCheck) string {
	var n []string
	for _, c := range cs {
		n = append(n, c.Name)
	}
	return strings.Join(n, ",")
}

func startNATS(t *testing.T, listen, dir string) *transport.Embedded {
	t.Helper()
	n, err := transport.StartEmbedded(listen, dir, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReadyz runs a whole server (SQLite) and an API-only one (PostgreSQL)
// on a NATS server the test stops and starts again: /readyz lists the
// components of each process's roles, answers 503 naming NATS while it is
// down, and 200 again once the processes have reconnected; /healthz
// answers 200 throughout.
func TestReadyz(t *testing.T) {
	natsDir := t.TempDir()
	nats := startNATS(t, "127.0.0.1:-1", natsDir)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			nats.Shutdown()
		}
	})
	url := nats.ClientURL()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "nats://"))

	all := start(t, Config{DataDir: t.TempDir(), NATSURL: url})
	// The API-only process keeps its state in PostgreSQL, so /readyz's
	// query runs on both stores.
	apiOnly := start(t, Config{DataDir: t.TempDir(), NATSURL: url, DatabaseURL: freshDatabase(t), Roles: []string{RoleAPI}})

	for _, tc := range []struct {
		d     *daemon
		names string
	}{{all, "nats,store,engine,executor"}, {apiOnly, "nats,store"}} {
		code, _, body, bad := readyz(t, tc.d.url)
		if code != http.StatusOK || body.Status != "ready" {
			t.Fatalf("/readyz = %d %+v %+v, want 200 ready", code, body, bad)
		}
		if got := checkNames(body.Checks); got != tc.names {
			t.Errorf("checks = %s, want %s", got, tc.names)
		}
	}

	nats.Shutdown()
	stopped = true
	for _, d := range []*daemon{all, apiOnly} {
		var bad problemBody
		var ctype string
		deadline := time.Now().Add(10 * time.Second)
		for {
			var code int
			code, ctype, _, bad = readyz(t, d.url)
			if code == http.StatusServiceUnavailable {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz still %d 10s after NATS stopped", code)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if ctype != "application/problem+json" {
			t.Errorf("503 content type %q, want application/problem+json", ctype)
		}
		if want := "not ready: nats: not connected to NATS (reconnecting)"; bad.Detail != want {
			t.Errorf("503 detail %q, want %q", bad.Detail, want)
		}
		if len(bad.Errors) != 1 || bad.Errors[0].Location != "nats" {
			t.Errorf("503 errors = %+v, want one, for nats", bad.Errors)
		}
		if code, body := call(t, "GET", d.url+"/healthz", "", "", nil); code != http.StatusOK {
			t.Errorf("/healthz while NATS is down: %d %s", code, body)
		}
	}

	nats = startNATS(t, "127.0.0.1:"+port, natsDir)
	stopped = false
	for _, d := range []*daemon{all, apiOnly} {
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, _, _, bad := readyz(t, d.url)
			if code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz still %d (%s) 15s after NATS came back", code, bad.Detail)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestReadinessTracker follows one process's readiness through its start
// and stop on real NATS and SQLite: each component is reported not ready,
// with its reason, until Run has started it, and everything is not ready
// once the process stops.
func TestReadinessTracker(t *testing.T) {
	nats := startNATS(t, "127.0.0.1:-1", t.TempDir())
	t.Cleanup(nats.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := transport.Connect(ctx, transport.Options{URL: nats.ClientURL(), Prefix: "ready"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	if err := conn.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	r := newReadiness(Config{Roles: []string{RoleAPI, RoleEngine, RoleExecutor}}, conn, hclog.NewNullLogger())

	notReady := func(want ...string) {
		t.Helper()
		var got []string
		for _, c := range r.ReadyChecks(ctx) {
			if !c.Ready {
				if c.Detail == "" {
					t.Errorf("check %s is not ready and says not why", c.Name)
				}
				got = append(got, c.Name)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("not ready: %v, want %v", got, want)
		}
	}
	notReady("store", "engine", "executor")

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	r.storeOpened(st)
	notReady("engine", "executor")

	sub, err := conn.ConsumeResults(ctx, 1, func(m jetstream.Msg) { _ = m.Ack() })
	if err != nil {
		t.Fatal(err)
	}
	notReady("executor")
	r.executorRegistered()
	notReady()

	sub.Stop()
	notReady("engine")
	r.stop()
	notReady("process", "engine")

	// A database that does not answer makes the store not ready.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	notReady("process", "store", "engine")
}
