package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sirocco-wf/sirocco/sdk"
)

// Version is this plugin's version.
const Version = "0.2.0"

// Error types of this plugin's failed runs; workflows may branch on them.
const (
	// ErrCommandFailed is a command that exited with a status other than
	// 0; its data is the command's result.
	ErrCommandFailed = "CommandFailed"
	// ErrCommandTimedOut is a command killed at its timeout; its data is
	// what it printed until then.
	ErrCommandTimedOut = "CommandTimedOut"
	// ErrCommandNotStarted is a program that could not be started (not
	// found, not executable, a bad working directory).
	ErrCommandNotStarted = "CommandNotStarted"
	// ErrNotAllowedType is a command the operator's configuration refuses.
	ErrNotAllowedType = "CommandNotAllowed"
)

// Plugin is the plugin as main serves it with the default configuration;
// the tests build others with NewPlugin.
func Plugin() sdk.Plugin { return NewPlugin(DefaultConfig()) }

// NewPlugin builds the plugin for one configuration.
func NewPlugin(cfg Config) sdk.Plugin {
	s := &shell{cfg: cfg}
	return sdk.Plugin{
		Name:    "shell",
		Version: Version,
		Actions: []sdk.ActionDef{
			sdk.Action("shell.run", "Runs a command on the executor host: a command line through /bin/sh, or a program "+
				"and its arguments without a shell. Returns {stdout, stderr, exit_code}; a status other than 0 fails the "+
				"action unless return_result_on_error is true.",
				s.run, sdk.Cancellable()),
			sdk.Action("std.ssh", "Runs a command on one or more hosts over SSH, as Mistral's std.ssh: the result is the "+
				"command's stdout (a list of them for a list of hosts); a status other than 0 fails the action.",
				s.ssh, sdk.Cancellable()),
			sdk.Action("std.ssh_proxied", "Like std.ssh, through an SSH gateway (gateway_host), as Mistral's "+
				"std.ssh_proxied; authenticates with a private key on both.",
				s.sshProxied, sdk.Cancellable()),
		},
	}
}

type shell struct {
	cfg Config
}

// RunInput is shell.run's input.
type RunInput struct {
	// Command is a string or a list of strings; JSON Schema cannot say
	// "one of" in the subset the SDK derives, so the description does.
	Command any            `json:"command" description:"A command line, run by sh -c (a string), or a program and its arguments, run without a shell (a list of strings)."`
	Env     map[string]any `json:"env,omitempty" description:"Environment variables for the command, on top of PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_ALL, LC_CTYPE, TZ and TMPDIR from the executor host (and what the operator passes); null removes one."`
	Cwd     string         `json:"cwd,omitempty" description:"Working directory of the command; by default the plugin's."`
	Stdin   string         `json:"stdin,omitempty" description:"Text written to the command's standard input."`
	Timeout *float64       `json:"timeout,omitempty" description:"Seconds after which the command and every process it started are killed; by default only the task's timeout or a cancel stops it."`
	// ReturnResultOnError is named as the same switch of Mistral's std.ssh.
	ReturnResultOnError bool `json:"return_result_on_error,omitempty" default:"false" description:"Return {stdout, stderr, exit_code} also when the command exits with a status other than 0, instead of failing."`
}

// RunResult is a command's outcome; on a failure it is also the error's
// data.
type RunResult struct {
	Stdout   string `json:"stdout" description:"What the command wrote to its standard output (at most the operator's cap)."`
	Stderr   string `json:"stderr" description:"What the command wrote to its standard error (at most the operator's cap)."`
	ExitCode int    `json:"exit_code" description:"The exit status; 128 plus the signal's number for a command killed by a signal."`
}

func (s *shell) run(ctx sdk.Context, in RunInput) (RunResult, error) {
	argv, err := commandArgv(in.Command)
	if err != nil {
		return RunResult{}, inputError("shell.run", "command", err.Error())
	}
	env, err := envInput(in.Env)
	if err != nil {
		return RunResult{}, inputError("shell.run", "env", err.Error())
	}
	var timeout time.Duration
	if in.Timeout != nil {
		if *in.Timeout <= 0 || math.IsInf(*in.Timeout, 0) {
			return RunResult{}, inputError("shell.run", "timeout", "want a number of seconds greater than 0")
		}
		timeout = time.Duration(*in.Timeout * float64(time.Second))
	}
	name := display(in.Command)
	if in.Cwd != "" {
		if st, err := os.Stat(in.Cwd); err != nil || !st.IsDir() {
			if err == nil {
				err = errors.New("not a directory")
			}
			return RunResult{}, sdk.NewError(ErrCommandNotStarted, fmt.Sprintf("cannot start %s: working directory %s: %v", name, in.Cwd, err), nil)
		}
	}
	path, err := s.cfg.resolve("shell.run", argv[0], in.Cwd)
	if err != nil {
		if errors.Is(err, ErrNotAllowed) {
			return RunResult{}, sdk.NewError(ErrNotAllowedType, err.Error(), nil)
		}
		return RunResult{}, sdk.NewError(ErrCommandNotStarted, startError(name, err), nil)
	}

	ctx.Logger().Info("running command", "program", path, "cwd", in.Cwd)
	p, err := startProcess(processSpec{
		path: path, argv: argv, dir: in.Cwd, env: s.cfg.commandEnv(env),
		stdin: strings.NewReader(in.Stdin), limit: s.cfg.MaxOutputBytes,
	})
	if err != nil {
		return RunResult{}, sdk.NewError(ErrCommandNotStarted, startError(name, err), nil)
	}
	state, how := p.wait(ctx, timeout)
	res := RunResult{Stdout: p.stdout.String(), Stderr: p.stderr.String(), ExitCode: -1}
	if state != nil {
		res.ExitCode = exitCode(state)
	}
	s.logTruncation(ctx, p)

	switch {
	case how == stopped:
		return RunResult{}, fmt.Errorf("command %s: its process group was killed: %w", name, ctx.Err())
	case how == timedOut:
		return RunResult{}, &sdk.Error{
			Type:    ErrCommandTimedOut,
			Message: fmt.Sprintf("command %s did not finish within %s; its process group was killed", name, timeout),
			Data:    res,
		}
	case res.ExitCode != 0 && !in.ReturnResultOnError:
		return RunResult{}, &sdk.Error{
			Type:    ErrCommandFailed,
			Message: fmt.Sprintf("command %s exited with status %d", name, res.ExitCode),
			Data:    res,
		}
	}
	return res, nil
}

func (s *shell) logTruncation(ctx sdk.Context, p *process) {
	for _, o := range []struct {
		name string
		c    *capped
	}{{"stdout", p.stdout}, {"stderr", p.stderr}} {
		if n := o.c.truncated(); n > 0 {
			ctx.Logger().Warn("output over the cap dropped", "stream", o.name, "kept_bytes", s.cfg.MaxOutputBytes,
				"dropped_bytes", n, "setting", envMaxOutput)
		}
	}
}

// commandArgv turns shell.run's command into an argv: a string is a
// command line for sh -c, a list is the argv itself.
func commandArgv(command any) ([]string, error) {
	switch c := command.(type) {
	case string:
		if strings.TrimSpace(c) == "" {
			return nil, errors.New("empty command line")
		}
		return []string{"sh", "-c", c}, nil
	case []any:
		if len(c) == 0 {
			return nil, errors.New("empty list: the first item must name a program")
		}
		argv := make([]string, len(c))
		for i, a := range c {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("item %d is not a string", i)
			}
			argv[i] = s
		}
		if argv[0] == "" {
			return nil, errors.New("the first item must name a program")
		}
		return argv, nil
	}
	return nil, fmt.Errorf("want a command line (a string) or a program and its arguments (a list of strings), got %s", jsonKind(command))
}

// envInput reads env: strings, numbers and booleans set a variable, null
// removes one.
func envInput(env map[string]any) (map[string]*string, error) {
	out := make(map[string]*string, len(env))
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("%q is not a variable name", k)
		}
		var s string
		switch v := v.(type) {
		case nil:
			out[k] = nil
			continue
		case string:
			s = v
		case bool:
			s = strconv.FormatBool(v)
		case float64:
			s = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return nil, fmt.Errorf("value of %s: want a string, number, boolean or null, got %s", k, jsonKind(v))
		}
		if strings.ContainsRune(s, 0) {
			return nil, fmt.Errorf("value of %s holds a NUL character", k)
		}
		out[k] = &s
	}
	return out, nil
}

// display names a command in messages: its program, or the start of its
// command line.
func display(command any) string {
	switch c := command.(type) {
	case string:
		if len(c) > 60 {
			c = c[:60] + "..."
		}
		return strconv.Quote(c)
	case []any:
		if len(c) > 0 {
			return fmt.Sprintf("%v", c[0])
		}
	}
	return "(none)"
}

func inputError(action, param, msg string) error {
	return sdk.NewError(sdk.ErrTypeInvalidInput,
		fmt.Sprintf("invalid input for action %s: parameter %q: %s", action, param, msg), nil)
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
