package workflows

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the committed workflow files from the generator")

// The committed files are what other tools (the Mistral script, run_wf.py
// style harnesses) run; they must be the documents the benchmark runs.
func TestCommittedFilesAreTheGeneratorsOutput(t *testing.T) {
	for name, want := range Standard() {
		t.Run(name, func(t *testing.T) {
			if *update {
				if err := os.WriteFile(name, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(name)
			if err != nil {
				t.Fatalf("%v (run: go test ./bench/workflows -update)", err)
			}
			if string(got) != want {
				t.Errorf("%s differs from the generator's output; run: go test ./bench/workflows -update", name)
			}
		})
	}
}

func TestChainLength(t *testing.T) {
	for _, tc := range []struct {
		doc   string
		tasks int
		links int
	}{
		{ChainDoc(1), 1, 0},
		{ChainDoc(3), 3, 2},
		{ChainDoc(100), 100, 99},
		{Chain5Doc(), 5, 4},
		{HTTPChainDoc(7), 7, 6},
	} {
		if got := strings.Count(tc.doc, "      action: "); got != tc.tasks {
			t.Errorf("%d tasks, want %d in\n%s", got, tc.tasks, tc.doc)
		}
		if got := strings.Count(tc.doc, "on-success: "); got != tc.links {
			t.Errorf("%d links, want %d in\n%s", got, tc.links, tc.doc)
		}
	}
}
