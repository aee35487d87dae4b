package pluginv1

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

var update = flag.Bool("update", false, "record the current protocol as the frozen one (additions only!)")

const frozenFile = "testdata/frozen-v1.txt"

// shape lists every message field and RPC of the protocol, one per line:
// what a peer built against an older minor relies on.
func shape(fd protoreflect.FileDescriptor) []string {
	var out []string
	var walk func(protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			m := ms.Get(i)
			for j := 0; j < m.Fields().Len(); j++ {
				f := m.Fields().Get(j)
				kind := f.Kind().String()
				if f.Message() != nil {
					kind = string(f.Message().FullName())
				}
				oneof := ""
				if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
					oneof = " oneof " + string(o.Name())
				}
				out = append(out, fmt.Sprintf("field %s.%s = %d %s %s%s", m.FullName(), f.Name(), f.Number(), f.Cardinality(), kind, oneof))
			}
			walk(m.Messages())
		}
	}
	walk(fd.Messages())
	for i := 0; i < fd.Services().Len(); i++ {
		s := fd.Services().Get(i)
		for j := 0; j < s.Methods().Len(); j++ {
			m := s.Methods().Get(j)
			out = append(out, fmt.Sprintf("rpc %s.%s(%s) returns (%s) stream=%v",
				s.FullName(), m.Name(), m.Input().FullName(), m.Output().FullName(), m.IsStreamingServer()))
		}
	}
	sort.Strings(out)
	return out
}

// missing returns the frozen lines the current protocol no longer has: a
// field removed, renumbered, retyped or moved, or an RPC changed.
func missing(frozen, current []string) []string {
	have := map[string]bool{}
	for _, l := range current {
		have[l] = true
	}
	var out []string
	for _, l := range frozen {
		if l != "" && !have[l] {
			out = append(out, l)
		}
	}
	return out
}

// TestFrozen fails when protocol v1 loses or changes what it promised.
// Minor versions may only add fields and RPCs; anything else is v2.
func TestFrozen(t *testing.T) {
	current := shape(File_v1_plugin_proto)
	if *update {
		if err := os.WriteFile(filepath.FromSlash(frozenFile), []byte(strings.Join(current, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.FromSlash(frozenFile))
	if err != nil {
		t.Fatal(err)
	}
	frozen := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(frozen) < 10 {
		t.Fatalf("%s holds %d lines; it should describe the whole v1 protocol", frozenFile, len(frozen))
	}
	if gone := missing(frozen, current); len(gone) > 0 {
		t.Fatalf("plugin protocol v1 is frozen, but these are gone or changed (a breaking change needs a new major):\n  %s",
			strings.Join(gone, "\n  "))
	}
}

// TestFrozenDetectsChanges makes sure the check above can fail: a renumbered
// or removed field is reported, an added one is not.
func TestFrozenDetectsChanges(t *testing.T) {
	frozen := shape(File_v1_plugin_proto) // sorted: fields come first
	renumbered := append([]string{}, frozen...)
	renumbered[0] = strings.Replace(renumbered[0], " = ", " = 9", 1)
	removed := frozen[1:]
	added := append(append([]string{}, frozen...), "field sirocco.plugin.v1.New.x = 99 optional string")
	tests := []struct {
		name    string
		current []string
		want    int
	}{
		{"unchanged", frozen, 0},
		{"field added", added, 0},
		{"field renumbered", renumbered, 1},
		{"field removed", removed, 1},
	}
	for _, tc := range tests {
		if got := len(missing(frozen, tc.current)); got != tc.want {
			t.Errorf("%s: %d problems, want %d", tc.name, got, tc.want)
		}
	}
}
