// Command testkit is a plugin built only by pluginhost's tests: it has
// actions that fail, panic, block and report progress on demand, and it
// also serves std.http to test which of two plugins wins an action.
package main

import (
	"errors"
	"os"
	"strings"
	"syscall"

	"github.com/sirocco-wf/sirocco/sdk"
)

type echoIn struct {
	Value any `json:"value"`
}

type empty struct{}

type bigIn struct {
	MiB int `json:"mib"`
}

type httpIn struct {
	URL string `json:"url,omitempty"`
}

func main() {
	sdk.Serve(sdk.Plugin{
		Name:    "testkit",
		Version: "9.9.9",
		Actions: []sdk.ActionDef{
			sdk.Action("test.echo", "Returns its value.", func(ctx sdk.Context, in echoIn) (any, error) {
				ctx.Progress(100, "done")
				return in.Value, nil
			}),
			sdk.Action("test.context", "Returns the execution context it was run with.", func(ctx sdk.Context, _ empty) (sdk.ExecContext, error) {
				return ctx.Exec(), nil
			}),
			sdk.Action("test.fail", "Fails with a typed error.", func(sdk.Context, empty) (any, error) {
				return nil, sdk.Retryable(sdk.NewError("Flaky", "try again", map[string]int{"code": 7}))
			}),
			sdk.Action("test.panic", "Panics.", func(sdk.Context, empty) (any, error) {
				panic(errors.New("kaboom"))
			}),
			sdk.Action("test.block", "Reports progress, then waits for its context.", func(ctx sdk.Context, _ empty) (any, error) {
				ctx.Progress(10, "blocking")
				<-ctx.Done()
				return nil, ctx.Err()
			}, sdk.Cancellable()),
			sdk.Action("test.big", "Returns a string of mib MiB.", func(_ sdk.Context, in bigIn) (string, error) {
				return strings.Repeat("x", in.MiB<<20), nil
			}),
			sdk.Action("test.hang", "Stops the whole plugin process: it never answers again.", func(sdk.Context, empty) (any, error) {
				_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
				select {}
			}),
			sdk.Action("std.http", "Pretends to be std.http.", func(sdk.Context, httpIn) (string, error) {
				return "testkit", nil
			}),
		},
	})
}
