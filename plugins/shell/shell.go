package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/sirocco-wf/sirocco/sdk"
)

// Version is this plugin's version.
const Version = "0.1.0"

// Plugin is the plugin's definition, shared by main and the tests.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    "shell",
		Version: Version,
		Actions: []sdk.ActionDef{
			sdk.Action("shell.run", "Runs a command (an argv list, no shell) on the executor host.", run, sdk.Cancellable()),
		},
	}
}

// RunInput takes an argv list rather than a command line so that workflow
// data never goes through a shell's parser by accident; use
// ["sh", "-c", "..."] to ask for a shell.
type RunInput struct {
	Command []string          `json:"command" description:"The program and its arguments."`
	Dir     string            `json:"dir,omitempty" description:"Working directory."`
	Env     map[string]string `json:"env,omitempty" description:"Variables added to the plugin's environment."`
	Stdin   string            `json:"stdin,omitempty" description:"Text written to the command's standard input."`
}

// RunResult is the command's outcome; on a non-zero exit it is also the
// error's data.
type RunResult struct {
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exit_code"`
}

func run(ctx sdk.Context, in RunInput) (RunResult, error) {
	if len(in.Command) == 0 || in.Command[0] == "" {
		return RunResult{}, sdk.NewError("InvalidInput", "command must name a program", nil)
	}
	cmd := exec.CommandContext(ctx, in.Command[0], in.Command[1:]...)
	cmd.Dir = in.Dir
	if len(in.Env) > 0 {
		cmd.Env = os.Environ()
		for k, v := range in.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Stdin = strings.NewReader(in.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	ctx.Logger().Info("running command", "program", in.Command[0])
	err := cmd.Run()
	res := RunResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return res, nil
	case ctx.Err() != nil:
		return RunResult{}, fmt.Errorf("command %s: %w", in.Command[0], ctx.Err())
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
		return RunResult{}, &sdk.Error{
			Type:    "CommandFailed",
			Message: fmt.Sprintf("command %s exited with status %d", in.Command[0], res.ExitCode),
			Data:    res,
			Err:     err,
		}
	}
	return RunResult{}, sdk.NewError("CommandNotStarted", fmt.Sprintf("start %s: %v", in.Command[0], err), nil)
}
