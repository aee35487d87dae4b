package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/sdk"
)

// Conformance checks that a plugin keeps the promises of protocol v1 that
// the SDK cannot check when it builds the plugin: it names itself, describes
// every action with an input schema that is a closed JSON object, rejects
// input its schema rejects as InvalidInput (not a panic or a broken stream),
// answers an unknown action with UnknownAction and an unknown Cancel with
// "not found", and ends each of these runs with exactly one completed event.
// A plugin author calls it from a test:
//
//	func TestConformance(t *testing.T) { sdktest.Conformance(t, myPlugin()) }
//
// It runs no action with valid input: that is what the author's own tests
// are for.
func Conformance(t *testing.T, p sdk.Plugin) {
	t.Helper()
	for _, problem := range Check(t, p) {
		t.Error("conformance: " + problem)
	}
}

// Check runs the checks of Conformance and returns what failed, one line
// per problem, instead of failing the test.
func Check(t testing.TB, p sdk.Plugin) []string {
	t.Helper()
	h := New(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []string
	fail := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }

	info := h.Info(ctx)
	if info.Name == "" || info.Version == "" {
		fail("GetInfo must give a name and a version, got %+v", info)
	}
	if info.SDKVersion != sdk.Version {
		fail("GetInfo sdk_version %q, want %q", info.SDKVersion, sdk.Version)
	}
	actions := h.Actions(ctx)
	if len(actions) == 0 {
		fail("plugin %q describes no actions", info.Name)
	}
	for _, a := range actions {
		if a.Description == "" {
			fail("action %s has no description; GET /v2/actions shows it", a.Name)
		}
		var schema struct {
			Type                 string `json:"type"`
			AdditionalProperties *bool  `json:"additionalProperties"`
		}
		if err := json.Unmarshal(a.InputSchema, &schema); err != nil {
			fail("action %s: input schema is not JSON: %v", a.Name, err)
		} else if schema.Type != "object" || schema.AdditionalProperties == nil || *schema.AdditionalProperties {
			fail("action %s: the input schema must be an object that rejects unknown parameters", a.Name)
		}
		if !json.Valid(a.OutputSchema) {
			fail("action %s: output schema is not JSON", a.Name)
		}
		run := h.Execute(ctx, a.Name, map[string]any{"conformance_unknown_parameter": 1})
		if run.Error == nil || run.Error.Type != sdk.ErrTypeInvalidInput {
			fail("action %s: an unknown parameter must fail as %s, got %+v", a.Name, sdk.ErrTypeInvalidInput, run.Error)
		}
	}
	run := h.Execute(ctx, "conformance.no_such_action", map[string]any{})
	if run.Error == nil || run.Error.Type != sdk.ErrTypeUnknownAction {
		fail("an unknown action must fail as %s, got %+v", sdk.ErrTypeUnknownAction, run.Error)
	}
	if h.Cancel(ctx, "conformance-no-such-run") {
		fail("Cancel of a run that does not exist must report found=false")
	}
	return out
}
