package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/sdk"
	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == netcatFlag {
		netcat(os.Args[2]) // the test binary as a proxy_command
		return
	}
	goleak.VerifyTestMain(m)
}

// testConfig is the default configuration with a key directory of the
// test's own, so the machine's keys play no part.
func testConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.KeyDir = t.TempDir()
	cfg.ConnectTimeout = 10 * time.Second
	return cfg
}

func TestShellRun(t *testing.T) {
	t.Setenv("SIROCCO_TEST_SECRET", "s3cret")
	dir := t.TempDir()
	h := sdktest.New(t, NewPlugin(testConfig(t)))
	tests := []struct {
		name    string
		input   map[string]any
		result  string
		errType string
		errText string
	}{
		{name: "a command line", input: map[string]any{"command": "echo hi; echo there"}, result: `{"stdout":"hi\nthere\n","stderr":"","exit_code":0}`},
		{name: "an argv goes through no shell", input: map[string]any{"command": []any{"echo", "$HOME;", "*"}}, result: `{"stdout":"$HOME; *\n","stderr":"","exit_code":0}`},
		{name: "stdin, env and cwd", input: map[string]any{"command": "cat; echo $X $N >&2; pwd", "stdin": "in\n", "env": map[string]any{"X": "x", "N": 2}, "cwd": dir},
			result: fmt.Sprintf(`{"stdout":"in\n%s\n","stderr":"x 2\n","exit_code":0}`, dir)},
		{name: "env null removes a variable", input: map[string]any{"command": "echo ${HOME-unset}", "env": map[string]any{"HOME": nil}}, result: `{"stdout":"unset\n","stderr":"","exit_code":0}`},
		{name: "the host's other variables stay out", input: map[string]any{"command": "echo ${SIROCCO_TEST_SECRET-unset} ${PATH:+path}"}, result: `{"stdout":"unset path\n","stderr":"","exit_code":0}`},
		{name: "non-zero exit", input: map[string]any{"command": []any{"sh", "-c", "echo out; echo oops >&2; exit 3"}},
			result: `{"stdout":"out\n","stderr":"oops\n","exit_code":3}`, errType: ErrCommandFailed, errText: "command sh exited with status 3"},
		{name: "non-zero exit as a result", input: map[string]any{"command": "exit 4", "return_result_on_error": true}, result: `{"stdout":"","stderr":"","exit_code":4}`},
		{name: "killed by a signal", input: map[string]any{"command": "kill -9 $$"}, result: `{"stdout":"","stderr":"","exit_code":137}`, errType: ErrCommandFailed},
		{name: "no program", input: map[string]any{"command": []any{}}, errType: sdk.ErrTypeInvalidInput, errText: `parameter "command": empty list`},
		{name: "empty command line", input: map[string]any{"command": "  "}, errType: sdk.ErrTypeInvalidInput, errText: "empty command line"},
		{name: "a number as a command", input: map[string]any{"command": 3}, errType: sdk.ErrTypeInvalidInput, errText: "got a number"},
		{name: "a number in an argv", input: map[string]any{"command": []any{"echo", 3}}, errType: sdk.ErrTypeInvalidInput, errText: "item 1 is not a string"},
		{name: "an object as a variable", input: map[string]any{"command": "true", "env": map[string]any{"X": map[string]any{}}}, errType: sdk.ErrTypeInvalidInput, errText: `parameter "env": value of X`},
		{name: "zero timeout", input: map[string]any{"command": "true", "timeout": 0}, errType: sdk.ErrTypeInvalidInput, errText: `parameter "timeout"`},
		{name: "program not found", input: map[string]any{"command": []any{"sirocco-no-such-program"}}, errType: ErrCommandNotStarted, errText: "executable file not found"},
		{name: "a working directory that does not exist", input: map[string]any{"command": []any{"true"}, "cwd": filepath.Join(dir, "nope")}, errType: ErrCommandNotStarted, errText: "working directory"},
		{name: "unknown parameter", input: map[string]any{"command": "true", "dir": "/"}, errType: sdk.ErrTypeInvalidInput, errText: "unexpected parameters: dir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := h.Execute(context.Background(), "shell.run", tc.input)
			raw := run.Output
			if tc.errType != "" {
				require.NotNil(t, run.Error, "output: %s", run.Output)
				require.Equal(t, tc.errType, run.Error.Type, run.Error.Message)
				require.Contains(t, run.Error.Message, tc.errText)
				raw = run.Error.Data
			} else {
				require.Nil(t, run.Error)
			}
			if tc.result == "" {
				require.Empty(t, raw)
				return
			}
			require.JSONEq(t, tc.result, string(raw))
		})
	}
}

// running says whether process pid exists and is not a zombie.
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// waitGone waits for a killed process to be gone; the kernel delivers
// SIGKILL asynchronously.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
			require.NoError(t, err)
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A timeout, a cancel and even a normal end kill everything the command
// started in its process group.
func TestShellRunProcessGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	h := sdktest.New(t, NewPlugin(testConfig(t)))
	tests := []struct {
		name    string
		timeout any
		cancel  bool
		errType string
	}{
		{name: "timeout", timeout: 0.5, errType: ErrCommandTimedOut},
		{name: "cancel", cancel: true, errType: sdk.ErrTypeCancelled},
		{name: "normal end"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			// A background sleep in the command's group, then a wait for
			// it unless the command is meant to end by itself.
			line := fmt.Sprintf("sleep 60 & echo $! > %s; echo started", pidFile)
			if tc.timeout != nil || tc.cancel {
				line += "; wait"
			}
			input := map[string]any{"command": line}
			if tc.timeout != nil {
				input["timeout"] = tc.timeout
			}
			id := fmt.Sprintf("group-%d", i)
			done := make(chan sdktest.Run, 1)
			go func() {
				done <- h.ExecuteWith(context.Background(), "shell.run", input, sdk.ExecContext{ActionExecutionID: id, Attempt: 1})
			}()
			pid := readPid(t, pidFile)
			if tc.cancel {
				require.True(t, h.Cancel(context.Background(), id))
			}
			run := <-done
			if tc.errType == "" {
				require.Nil(t, run.Error)
				require.JSONEq(t, `{"stdout":"started\n","stderr":"","exit_code":0}`, string(run.Output))
			} else {
				require.NotNil(t, run.Error)
				require.Equal(t, tc.errType, run.Error.Type, run.Error.Message)
			}
			if tc.errType == ErrCommandTimedOut {
				require.Contains(t, run.Error.Message, "did not finish within 500ms; its process group was killed")
				require.JSONEq(t, `{"stdout":"started\n","stderr":"","exit_code":137}`, string(run.Error.Data))
			}
			waitGone(t, pid)
		})
	}
}

func TestShellRunOutputCap(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxOutputBytes = 4
	h := sdktest.New(t, NewPlugin(cfg))
	tests := []struct {
		name, command, result string
	}{
		{name: "a large output is cut and does not block the command", command: "head -c 1000000 /dev/zero | tr '\\0' x; echo ok >&2",
			result: `{"stdout":"xxxx","stderr":"ok\n","exit_code":0}`},
		{name: "a character cut in two is left out", command: "printf 'a\\303\\251\\303\\251'", result: `{"stdout":"aé","stderr":"","exit_code":0}`},
		{name: "output at the cap is whole", command: "printf abcd", result: `{"stdout":"abcd","stderr":"","exit_code":0}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := h.Execute(context.Background(), "shell.run", map[string]any{"command": tc.command})
			require.Nil(t, run.Error)
			require.JSONEq(t, tc.result, string(run.Output))
		})
	}
}

func TestShellRunPolicy(t *testing.T) {
	echo, err := exec.LookPath("echo")
	require.NoError(t, err)
	echo, err = filepath.Abs(echo)
	require.NoError(t, err)
	tests := []struct {
		name    string
		enabled bool
		allowed []string
		command any
		errText string // "" when allowed
	}{
		{name: "turned off", enabled: false, command: []any{"echo", "x"}, errText: "running local commands is turned off on this executor host (SIROCCO_SHELL_RUN_ENABLED=false)"},
		{name: "a name on the list", enabled: true, allowed: []string{"true", "echo"}, command: []any{"echo", "x"}},
		{name: "a path on the list", enabled: true, allowed: []string{echo}, command: []any{"echo", "x"}},
		{name: "the path of a name on the list", enabled: true, allowed: []string{"echo"}, command: []any{echo, "x"},
			errText: fmt.Sprintf("program %q is not in this executor host's allowed commands (SIROCCO_SHELL_ALLOWED_COMMANDS: echo)", echo)},
		{name: "not on the list", enabled: true, allowed: []string{"echo"}, command: []any{"ls"}, errText: `program "ls" is not in`},
		{name: "a command line needs sh on the list", enabled: true, allowed: []string{"echo"}, command: "echo x", errText: `program "sh" is not in`},
		{name: "sh on the list allows command lines", enabled: true, allowed: []string{"sh"}, command: "echo x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.RunEnabled, cfg.AllowedCommands = tc.enabled, tc.allowed
			h := sdktest.New(t, NewPlugin(cfg))
			run := h.Execute(context.Background(), "shell.run", map[string]any{"command": tc.command})
			if tc.errText == "" {
				require.Nil(t, run.Error)
				require.JSONEq(t, `{"stdout":"x\n","stderr":"","exit_code":0}`, string(run.Output))
				return
			}
			require.NotNil(t, run.Error)
			require.Equal(t, ErrNotAllowedType, run.Error.Type)
			require.Contains(t, run.Error.Message, tc.errText)
		})
	}
}

func TestShellRunPassEnv(t *testing.T) {
	t.Setenv("SIROCCO_TEST_A", "a")
	t.Setenv("SIROCCO_TEST_B", "b")
	tests := []struct {
		pass []string
		want string
	}{
		{pass: nil, want: "- -\n"},
		{pass: []string{"SIROCCO_TEST_B"}, want: "- b\n"},
		{pass: []string{"*"}, want: "a b\n"},
	}
	for _, tc := range tests {
		cfg := testConfig(t)
		cfg.PassEnv = tc.pass
		h := sdktest.New(t, NewPlugin(cfg))
		var out RunResult
		require.NoError(t, h.Execute(context.Background(), "shell.run", map[string]any{"command": "echo ${SIROCCO_TEST_A--} ${SIROCCO_TEST_B--}"}).Decode(&out))
		require.Equal(t, tc.want, out.Stdout, "pass %v", tc.pass)
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		line    string
		want    []string
		errText string
	}{
		{line: "nc  host 22", want: []string{"nc", "host", "22"}},
		{line: `ssh -W '%h:%p' "gw user" a\ b`, want: []string{"ssh", "-W", "%h:%p", "gw user", "a b"}},
		{line: `echo "a \"b\" \$c \n"`, want: []string{"echo", `a "b" $c \n`}},
		{line: `x''y ""`, want: []string{"xy", ""}},
		{line: "", want: nil},
		{line: "a 'b", errText: "unterminated single quote"},
		{line: `a "b`, errText: "unterminated double quote"},
		{line: `a \`, errText: "backslash at the end"},
	}
	for _, tc := range tests {
		got, err := splitArgs(tc.line)
		if tc.errText != "" {
			require.ErrorContains(t, err, tc.errText, tc.line)
			continue
		}
		require.NoError(t, err, tc.line)
		require.Equal(t, tc.want, got, tc.line)
	}
}

func TestShellDescribe(t *testing.T) {
	h := sdktest.New(t, Plugin())
	actions := h.Actions(context.Background())
	want := map[string]struct {
		required []string
		params   []string
	}{
		"shell.run": {[]string{"command"}, []string{"command", "env", "cwd", "stdin", "timeout", "return_result_on_error"}},
		// Mistral's parameters, and return_result_on_error of later
		// Mistral releases.
		"std.ssh": {[]string{"cmd", "host", "username"}, []string{"cmd", "host", "username", "password", "private_key_filename", "private_key", "return_result_on_error"}},
		"std.ssh_proxied": {[]string{"cmd", "host", "username", "private_key_filename", "gateway_host"},
			[]string{"cmd", "host", "username", "private_key_filename", "gateway_host", "gateway_username", "password", "proxy_command", "private_key"}},
	}
	require.Len(t, actions, len(want))
	for _, a := range actions {
		w, ok := want[a.Name]
		require.True(t, ok, a.Name)
		require.True(t, a.Cancellable, a.Name)
		var schema struct {
			Required   []string                  `json:"required"`
			Properties map[string]map[string]any `json:"properties"`
		}
		require.NoError(t, json.Unmarshal(a.InputSchema, &schema))
		require.Equal(t, w.required, schema.Required, a.Name)
		var names []string
		for n, p := range schema.Properties {
			names = append(names, n)
			require.NotEmpty(t, p["description"], "%s: parameter %s has no description", a.Name, n)
		}
		require.ElementsMatch(t, w.params, names, a.Name)
	}
}
