package controller

import (
	"strings"
	"testing"
)

// Messages whose text Mistral composes from the values involved print
// them with Python's str(), in the order Mistral's dicts hold them.
func TestMistralValueTexts(t *testing.T) {
	tests := []struct {
		name, src string
		// want is the execution's state_info, or its start when prefix.
		want   string
		prefix bool
	}{
		{
			name: "with-items lists of different lengths print every value, in clause order",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      with-items:
        - y in <% [1, 2, 3] %>
        - x in <% ['a', 'b'] %>
      action: std.echo output=<% $.x %>
`,
			want: "Failed to run task [error=Wrong input format for: {'y': [1, 2, 3], 'x': ['a', 'b']}. All arrays must have the same length., wf=wf, task=t]",
		},
		{
			name: "with-items values print as evaluated, not as the lists made of them",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      with-items:
        - x in <% [1, null] %>
        - s in <% 'abc' %>
      action: std.echo output=<% $.x %>
`,
			want: "Failed to run task [error=Wrong input format for: {'x': [1, None], 's': 'abc'}. All arrays must have the same length., wf=wf, task=t]",
		},
		{
			name: "a value that is not iterable prints the lists made before it",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      with-items:
        - x in <% [true, false] %>
        - s in <% 'ab' %>
        - n in <% 5 %>
      action: std.echo output=<% $.x %>
`,
			want: "Failed to run task [error=Wrong input format for: {'x': [True, False], 's': ['a', 'b']}. Iterable type is expected for each value., wf=wf, task=t]",
		},
		{
			name: "output-on-error that fails prints its spec as a Python dict",
			src: `
version: '2.0'
wf:
  output-on-error:
    a: [1, true, null, 'q']
    b: <% $.nope %>
  tasks:
    t:
      action: std.fail
`,
			want:   "Failed to evaluate expression in output-on-error! (output-on-error: '{'a': [1, True, None, 'q'], 'b': '<% $.nope %>'}', exception: '",
			prefix: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newSim(t, tt.src).start("wf", nil, nil)
			got := st.Exec.StateInfo
			if tt.prefix && !strings.HasPrefix(got, tt.want) || !tt.prefix && got != tt.want {
				t.Errorf("state info\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
