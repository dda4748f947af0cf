package repoconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// yamlLine extracts the line from YAML syntax errors ("yaml: line 3: …").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeDocuments reads the first document of data and reports whether a
// second one follows, with its node.
func decodeDocuments(data []byte) (doc, extra yaml.Node, hasExtra bool, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return doc, extra, false, err
	}
	switch err := dec.Decode(&extra); {
	case err == nil:
		return doc, extra, true, nil
	case !errors.Is(err, io.EOF):
		return doc, extra, false, err
	}
	return doc, extra, false, nil
}

// yamlProblem splits a YAML syntax error into its message and the line it
// names (0 when it names none).
//
// The library names the line where the construct being read started (the
// "context"), which may lie well above the problem, and counts it from 0
// for parser problems and from 1 for scanner problems; locate finds the
// real place.
func yamlProblem(err error) (msg string, line int) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if isParserProblem(msg) {
		line++
	}
	return msg, line
}

// isParserProblem reports whether msg comes from the YAML parser (as
// opposed to its scanner), whose lines are counted from 0.
func isParserProblem(msg string) bool {
	switch msg {
	case "did not find expected <stream-start>",
		"did not find expected <document start>",
		"found undefined tag handle",
		"did not find expected node content",
		"did not find expected '-' indicator",
		"did not find expected key",
		"did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"found duplicate %YAML directive",
		"found incompatible YAML document",
		"found duplicate %TAG directive":
		return true
	}
	return false
}

// syntaxError turns a YAML syntax error into a FieldError at the line and
// column where the file stops being YAML, in words a person can act on.
func syntaxError(filename string, data []byte, err error) *FieldError {
	msg, line := yamlProblem(err)
	fe := &FieldError{File: filename, Line: line}
	var at rune
	if l, c, r, ok := locateSyntaxError(data, msg, line); ok {
		fe.Line, fe.Column, at = l, c, r
		if misindented(msg) {
			fe.Column = indentation(data, l) + 1 // the line as a whole is misplaced
		}
	}
	fe.Message = "invalid YAML: " + explainSyntax(msg, at)
	return fe
}

// maxLocateSize bounds the files whose syntax errors are located by
// reparsing (about 40 parses of at most the whole file); larger files get
// the line the YAML library names. Real files hold a few kilobytes.
const maxLocateSize = 128 << 10

// failsWith reports whether data, read as YAML, fails with the problem msg.
func failsWith(data []byte, msg string) bool {
	_, _, _, err := decodeDocuments(data)
	if err == nil {
		return false
	}
	m, _ := yamlProblem(err)
	return m == msg
}

// locateSyntaxError finds the place of the problem msg in data: the first
// line, at or after from, whose text makes the file fail with msg, and on it
// the first character (1-based, counted in characters as yaml.Node.Column
// is) up to which the file fails. It also returns that character. The YAML
// library reports neither the column nor, for most parser problems, the
// problem's own line; reading growing prefixes of the file finds both with a
// few dozen parses, by bisection.
func locateSyntaxError(data []byte, msg string, from int) (line, col int, char rune, ok bool) {
	if len(data) > maxLocateSize || !failsWith(data, msg) {
		return 0, 0, 0, false
	}
	// starts[i] is the offset of line i+1; the prefix of k lines ends at
	// starts[k] (or at the end of the data for the last line).
	starts := []int{0}
	for i, b := range data {
		if b == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	lines := len(starts)
	end := func(k int) int {
		if k >= lines {
			return len(data)
		}
		return starts[k]
	}
	lo := min(max(from, 1), lines)
	if lo > 1 && failsWith(data[:end(lo-1)], msg) {
		lo = 1 // the named line is not the first to fail: search the whole file
	}
	line = lo + sort.Search(lines-lo+1, func(i int) bool { return failsWith(data[:end(lo+i)], msg) })
	if line > lines {
		return 0, 0, 0, false
	}
	text := data[starts[line-1]:end(line)]
	var ends []int // ends[i] is the offset just after the line's character i
	for i := 0; i < len(text); {
		_, size := utf8.DecodeRune(text[i:])
		i += size
		ends = append(ends, i)
	}
	c := sort.Search(len(ends), func(i int) bool { return failsWith(data[:starts[line-1]+ends[i]], msg) })
	if c == len(ends) {
		c = len(ends) - 1
	}
	start := 0
	if c > 0 {
		start = ends[c-1]
	}
	char, _ = utf8.DecodeRune(text[start:])
	return line, c + 1, char, true
}

// explainSyntax says what a YAML problem means for someone editing the
// file; at is the character where it was found (0 if unknown).
func explainSyntax(msg string, at rune) string {
	switch {
	case at == '\t' && (msg == "found character that cannot start any token" || msg == "found a tab character that violates indentation"):
		return "a tab indents this line: YAML indents with spaces only"
	case msg == "found character that cannot start any token" && at != 0:
		return fmt.Sprintf("%q cannot start a value: put the value in quotes", at)
	case msg == "mapping values are not allowed in this context":
		return `unexpected ":" — put a value that contains ": " in quotes, or check this line's indentation`
	case misindented(msg):
		return "this line's indentation does not match the lines above it"
	case msg == "could not find expected ':'":
		return `expected a "key: value" line`
	case msg == "found unexpected end of stream" && (at == '"' || at == '\''):
		return fmt.Sprintf("the quoted text starting here is never closed with %c", at)
	case msg == "found unexpected end of stream":
		return "the file ends in the middle of a value"
	case msg == "did not find expected ',' or ']'":
		return `a [ list is not closed with "]" (or lacks a "," between items)`
	case msg == "did not find expected ',' or '}'":
		return `a { mapping is not closed with "}" (or lacks a "," between entries)`
	case msg == "control characters are not allowed":
		return "the file holds a control character: remove it"
	}
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("*%s refers to no anchor: define &%s before using it", m[1], m[1])
	}
	return msg
}

var unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// misindented reports whether msg means a line is indented wrongly.
func misindented(msg string) bool {
	return msg == "did not find expected '-' indicator" || msg == "did not find expected key"
}

// indentation counts the spaces that start line (1-based) of data.
func indentation(data []byte, line int) int {
	text := data
	for range line - 1 {
		_, text, _ = bytes.Cut(text, []byte("\n"))
	}
	return len(text) - len(bytes.TrimLeft(text, " "))
}
