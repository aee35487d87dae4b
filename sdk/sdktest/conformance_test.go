package sdktest_test

import (
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/sdk"
	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

type greetIn struct {
	Name string `json:"name" description:"who to greet"`
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdk.Plugin{Name: "hello", Version: "1.0.0", Actions: []sdk.ActionDef{
		sdk.Action("hello.greet", "Greets someone.", func(_ sdk.Context, in greetIn) (string, error) {
			return "Hello, " + in.Name, nil
		}),
	}})
}

// The check must be able to fail: a plugin whose action has no
// description does not conform.
func TestCheckFindsAMissingDescription(t *testing.T) {
	problems := sdktest.Check(t, sdk.Plugin{Name: "bad", Version: "1", Actions: []sdk.ActionDef{
		sdk.Action("bad.x", "", func(_ sdk.Context, in greetIn) (string, error) { return "", nil }),
	}})
	if len(problems) != 1 || !strings.Contains(problems[0], "action bad.x has no description") {
		t.Fatalf("problems: %q", problems)
	}
}
