package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNotAllowed is a command the operator's configuration refuses.
var ErrNotAllowed = errors.New("not allowed on this executor host")

// resolve finds the program argv0 names, as exec.Command would (a name
// without a slash is looked up in the plugin's PATH, anything else is a
// path, relative to dir), and checks it against the operator's settings.
// what says which action or input asked, for the messages.
func (c Config) resolve(what, argv0, dir string) (string, error) {
	if !c.RunEnabled {
		return "", fmt.Errorf("%s: running local commands is turned off on this executor host (%s=false): %w", what, envRunEnabled, ErrNotAllowed)
	}
	var path string
	if strings.Contains(argv0, "/") {
		path = argv0
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
			if !filepath.IsAbs(path) {
				wd, err := os.Getwd()
				if err != nil {
					return "", fmt.Errorf("%s: %w", what, err)
				}
				path = filepath.Join(wd, path)
			}
		}
		path = filepath.Clean(path)
	} else {
		p, err := exec.LookPath(argv0)
		if err != nil {
			return "", err
		}
		if path, err = filepath.Abs(p); err != nil {
			return "", err
		}
	}
	if len(c.AllowedCommands) == 0 {
		return path, nil
	}
	for _, allowed := range c.AllowedCommands {
		if strings.Contains(allowed, "/") {
			if filepath.Clean(allowed) == path {
				return path, nil
			}
		} else if allowed == argv0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s: program %q is not in this executor host's allowed commands (%s: %s): %w",
		what, argv0, envAllowed, strings.Join(c.AllowedCommands, ","), ErrNotAllowed)
}

// commandEnv is the environment of a command: baseEnv and the operator's
// PassEnv from the host's environment, then the workflow's env, where a
// null removes a variable.
func (c Config) commandEnv(env map[string]*string) []string {
	vars := map[string]string{}
	all := slices.Contains(c.PassEnv, "*")
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if all || slices.Contains(baseEnv, k) || slices.Contains(c.PassEnv, k) {
			vars[k] = v
		}
	}
	for k, v := range env {
		if v == nil {
			delete(vars, k)
		} else {
			vars[k] = *v
		}
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// splitArgs splits a command line into words as a POSIX shell would
// without expanding anything (as Python's shlex.split, which paramiko's
// ProxyCommand uses): blanks separate words, single quotes keep
// everything, double quotes keep all but \" \\ \$ \` escapes, a backslash
// outside quotes keeps the next character.
func splitArgs(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case ch == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case ch == '\\':
			if i+1 >= len(line) {
				return nil, errors.New("backslash at the end")
			}
			i++
			cur.WriteByte(line[i])
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
