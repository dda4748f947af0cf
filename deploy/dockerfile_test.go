package deploy_test

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined and comment lines dropped.
type instruction struct {
	Line    int    // where it starts, 1-based
	Keyword string // upper case: FROM, RUN, ENV…
	Args    string // the rest, with ${VAR} references to ARGs resolved in stage instructions
}

// stage is a FROM and what follows it; the instructions before the first FROM form stage 0's preamble.
type stage struct {
	From         instruction
	Name         string // AS name
	Instructions []instruction
}

// dockerfile is deploy/Dockerfile, parsed.
type dockerfile struct {
	Syntax     string            // the # syntax= directive
	GlobalArgs map[string]string // ARGs before the first FROM, with their defaults
	Stages     []stage
}

// readDockerfile parses the subset of Dockerfile syntax deploy/Dockerfile uses: directives, comments,
// backslash continuations, ARG defaults and ${VAR} references, which it resolves from the ARGs in scope
// (global ARGs in FROM lines, the stage's own ARGs after them).
func readDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	df := dockerfile{GlobalArgs: map[string]string{}}
	var raw []instruction
	var cur *instruction
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if n == 1 {
			if m := regexp.MustCompile(`^#\s*syntax=(\S+)`).FindStringSubmatch(trimmed); m != nil {
				df.Syntax = m[1]
			}
		}
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur == nil) {
			continue
		}
		cont := strings.HasSuffix(trimmed, `\`)
		text := strings.TrimSuffix(trimmed, `\`)
		if cur == nil {
			keyword, rest, _ := strings.Cut(text, " ")
			raw = append(raw, instruction{Line: n, Keyword: strings.ToUpper(keyword), Args: strings.TrimSpace(rest)})
			cur = &raw[len(raw)-1]
		} else {
			cur.Args += " " + strings.TrimSpace(text)
		}
		if !cont {
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var args map[string]string
	for _, in := range raw {
		switch {
		case in.Keyword == "ARG" && len(df.Stages) == 0:
			name, def, _ := strings.Cut(in.Args, "=")
			df.GlobalArgs[name] = def
			continue
		case in.Keyword == "FROM":
			in.Args = expand(in.Args, df.GlobalArgs)
			image, name, _ := strings.Cut(in.Args, " AS ")
			df.Stages = append(df.Stages, stage{From: instruction{Line: in.Line, Keyword: "FROM", Args: image}, Name: strings.TrimSpace(name)})
			args = map[string]string{}
			continue
		case in.Keyword == "ARG":
			name, def, _ := strings.Cut(in.Args, "=")
			if _, ok := df.GlobalArgs[name]; ok && def == "" {
				def = df.GlobalArgs[name]
			}
			args[name] = def
		}
		if len(df.Stages) == 0 {
			t.Fatalf("%s:%d: %s before the first FROM", path, in.Line, in.Keyword)
		}
		if in.Keyword != "RUN" { // RUN sees ARGs as environment variables, resolved by its shell
			in.Args = expand(in.Args, args)
		}
		s := &df.Stages[len(df.Stages)-1]
		s.Instructions = append(s.Instructions, in)
	}
	return df
}

// expand replaces ${NAME} and $NAME with vars[NAME] when NAME is in vars and leaves other references.
func expand(s string, vars map[string]string) string {
	return regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`).ReplaceAllStringFunc(s, func(ref string) string {
		name := strings.Trim(ref, "${}")
		if v, ok := vars[name]; ok {
			return v
		}
		return ref
	})
}

// all returns the stage's instructions with keyword.
func (s stage) all(keyword string) []instruction {
	var out []instruction
	for _, in := range s.Instructions {
		if in.Keyword == keyword {
			out = append(out, in)
		}
	}
	return out
}

// one returns the stage's only instruction with keyword, failing the test unless there is exactly one.
func (s stage) one(t *testing.T, keyword string) instruction {
	t.Helper()
	all := s.all(keyword)
	if len(all) != 1 {
		t.Fatalf("stage %q (line %d) has %d %s instructions, want 1", s.Name, s.From.Line, len(all), keyword)
	}
	return all[0]
}

// env returns the variables the stage's ENV instructions set (NAME=value form).
func (s stage) env(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, in := range s.all("ENV") {
		for _, kv := range strings.Fields(in.Args) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("line %d: ENV %q is not in NAME=value form", in.Line, kv)
			}
			out[k] = v
		}
	}
	return out
}

// execForm parses the JSON array of an exec-form ENTRYPOINT, CMD or HEALTHCHECK CMD.
func execForm(t *testing.T, in instruction, args string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("line %d: %s %s is not in exec form (a JSON array): %v", in.Line, in.Keyword, args, err)
	}
	return argv
}
