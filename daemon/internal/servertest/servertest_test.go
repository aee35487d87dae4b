package servertest

import (
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/daemon/internal/server"
)

// goleak checks that what Start leaves to the test's end (the server and
// the client's connections to it) is all gone after it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*Server).startGoRoutine.func1"),
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).syncBlocks"),
	)
}

// Two servers of one test have ports and data of their own, and both serve.
func TestStart(t *testing.T) {
	a, b := Start(t, server.Config{}), Start(t, server.Config{})
	if a == b {
		t.Fatalf("both servers at %s", a)
	}
	for _, base := range []string{a, b} {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s/healthz: %d", base, resp.StatusCode)
		}
	}
}
