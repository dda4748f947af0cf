package githubsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v60/github"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaURL = "file:///webhook-schemas/schema.json"

// webhookSchemas compiles definitions of the vendored octokit bundle on demand.
type webhookSchemas struct {
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

// schemas is shared by the tests of this file: compiling the 600 kB bundle once is enough.
var schemas = sync.OnceValues(func() (*webhookSchemas, error) {
	f, err := os.Open("testdata/webhook-schemas/schema.json")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.RegisterFormat(&jsonschema.Format{Name: "uri-template", Validate: validateURITemplate})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	return &webhookSchemas{compiler: c, compiled: map[string]*jsonschema.Schema{}}, nil
})

// uriExpression is one RFC 6570 expression: an optional operator and a variable list.
var uriExpression = regexp.MustCompile(`^[+#./;?&]?[A-Za-z0-9_.%]+(:[0-9]+|\*)?(,[A-Za-z0-9_.%]+(:[0-9]+|\*)?)*$`)

// validateURITemplate checks RFC 6570 templates. It replaces jsonschema's own check, which
// splits the path at "/" and so rejects GitHub's real "…/following{/other_user}" templates.
func validateURITemplate(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	var literal strings.Builder
	for rest := s; rest != ""; {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			literal.WriteString(rest)
			break
		}
		if rest[open] == '}' {
			return fmt.Errorf("unmatched '}' in %q", s)
		}
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] != '}' {
			return fmt.Errorf("unclosed or nested '{' in %q", s)
		}
		if expr := rest[open+1 : open+1+end]; !uriExpression.MatchString(expr) {
			return fmt.Errorf("invalid expression {%s} in %q", expr, s)
		}
		literal.WriteString(rest[:open])
		rest = rest[open+2+end:]
	}
	if _, err := url.Parse(literal.String()); err != nil {
		return fmt.Errorf("%q is not a URI once expressions are removed: %w", s, err)
	}
	return nil
}

func (ws *webhookSchemas) get(t *testing.T, fragment string) *jsonschema.Schema {
	t.Helper()
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if sch, ok := ws.compiled[fragment]; ok {
		return sch
	}
	sch, err := ws.compiler.Compile(schemaURL + "#" + fragment)
	if err != nil {
		t.Fatalf("compiling schema %s: %v", fragment, err)
	}
	ws.compiled[fragment] = sch
	return sch
}

// definitionFor names the schema definition of a delivery: "<event>$<action>", or
// "<event>$event" for events without actions.
func definitionFor(d Delivery) string {
	if d.Action == "" {
		return d.Event + "$event"
	}
	return d.Event + "$" + d.Action
}

// validateDelivery checks a payload against its event+action definition and against the
// bundle's root, a oneOf over every event, so it must match exactly one event shape.
func validateDelivery(t *testing.T, d Delivery) {
	t.Helper()
	ws, err := schemas()
	if err != nil {
		t.Fatalf("loading webhook schemas: %v", err)
	}
	for _, fragment := range []string{"/definitions/" + definitionFor(d), ""} {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(d.Payload))
		if err != nil {
			t.Fatalf("%s payload is not JSON: %v", d.Event, err)
		}
		if err := ws.get(t, fragment).Validate(inst); err != nil {
			t.Errorf("%s %s payload does not match schema %q:\n%v", d.Event, d.Action, fragment, err)
		}
	}
	if _, err := github.ParseWebHook(d.Event, d.Payload); err != nil {
		t.Errorf("go-github cannot parse %s payload: %v", d.Event, err)
	}
}

// driveEveryHelper calls every webhook-sending helper once or more and returns the
// (event, action) sequence expected.
func driveEveryHelper(t *testing.T, sim *Sim) []string {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := sim.Commit("acme/app", "main", map[string]string{"app.txt": "v1\n"}, "Add app")
	must(err)
	_, err = sim.Commit("acme/app", "hotfix", map[string]string{"README.md": ""}, "Drop readme")
	must(err)
	pr, err := sim.OpenPR("acme/app", PROptions{
		Author: "alice", Title: "Add stack", Body: "Adds a stack", Branch: "feature/stack",
		Files: map[string]string{"infra/stack.yaml": "a: 1\n"}, Draft: true, Labels: []string{"deploy", "preview"},
	})
	must(err)
	fork, err := sim.OpenPR("acme/app", PROptions{Author: "mallory", FromFork: true, Files: map[string]string{"x": "y"}})
	must(err)
	_, err = sim.PushToPR("acme/app", pr.Number, map[string]string{"infra/stack.yaml": "a: 2\n"})
	must(err)
	_, err = sim.PushToPR("acme/app", fork.Number, map[string]string{"x": "z"})
	must(err)
	fixed, err := sim.Commit("acme/app", "feature/stack", map[string]string{"infra/stack.yaml": "a: 3\n"}, "Fix stack")
	must(err)
	if got, _ := sim.PR("acme/app", pr.Number); got.HeadSHA != fixed {
		t.Fatalf("a commit on the head branch did not move the PR head: %s, want %s", got.HeadSHA, fixed)
	}
	must(sim.AddLabel("acme/app", fork.Number, "needs-review"))
	must(sim.AddLabelBy("acme/app", pr.Number, "approved", "carol"))
	must(sim.RemoveLabel("acme/app", pr.Number, "preview"))
	must(sim.MarkReady("acme/app", pr.Number))
	_, err = sim.Comment("acme/app", pr.Number, "bob", "/stagecoach preview")
	must(err)
	_, err = sim.Comment("acme/app", pr.Number, sim.BotLogin(), "Preview: 3 to add")
	must(err)
	must(sim.ClosePR("acme/app", fork.Number, false))
	must(sim.ReopenPR("acme/app", fork.Number))
	must(sim.ClosePR("acme/app", pr.Number, true))
	_, err = sim.CreateDeployment("acme/app", "main", "staging", "dave")
	must(err)
	return []string{
		"push/", "push/",
		"push/", "pull_request/opened", "pull_request/labeled", "pull_request/labeled",
		"pull_request/opened",
		"push/", "pull_request/synchronize",
		"pull_request/synchronize",
		"push/", "pull_request/synchronize",
		"pull_request/labeled", "pull_request/labeled", "pull_request/unlabeled",
		"pull_request/ready_for_review",
		"issue_comment/created", "issue_comment/created",
		"pull_request/closed", "pull_request/reopened",
		"pull_request/closed", "push/",
		"deployment/created",
	}
}

func TestEveryWebhookMatchesGitHubSchema(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, http.StatusAccepted)
	sim, _ := newSim(t, Options{WebhookURL: rc.srv.URL, WebhookSecret: testSecret})
	want := driveEveryHelper(t, sim)

	// A repository on a personal account: payloads must carry no "organization".
	sim.AddUserInstallation("bob")
	if _, err := sim.CreateRepo("bob", "tool", map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.OpenPR("bob/tool", PROptions{Author: "bob"}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "push/", "pull_request/opened")

	deliveries := sim.Deliveries()
	var got []string
	for _, d := range deliveries {
		got = append(got, d.Event+"/"+d.Action)
		t.Run(definitionFor(d), func(t *testing.T) { validateDelivery(t, d) })
	}
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries:\n got %q\nwant %q", got, want)
	}

	t.Run("receiver got every delivery signed, with GitHub's headers", func(t *testing.T) {
		recv := rc.all()
		if len(recv) != len(deliveries) {
			t.Fatalf("receiver got %d webhooks, sim recorded %d", len(recv), len(deliveries))
		}
		for i, r := range recv {
			d := deliveries[i]
			if !r.signature {
				t.Errorf("delivery %d: X-Hub-Signature-256 %q does not verify", i, r.header.Get("X-Hub-Signature-256"))
			}
			checks := map[string]string{
				"X-GitHub-Event": d.Event, "X-GitHub-Delivery": d.ID, "Content-Type": "application/json",
				"X-GitHub-Hook-Installation-Target-Type": "integration", "X-GitHub-Hook-Installation-Target-ID": "1",
			}
			for h, want := range checks {
				if got := r.header.Get(h); got != want {
					t.Errorf("delivery %d: %s = %q, want %q", i, h, got, want)
				}
			}
			if !strings.HasPrefix(r.header.Get("User-Agent"), "GitHub-Hookshot/") || r.header.Get("X-GitHub-Hook-ID") == "" {
				t.Errorf("delivery %d: missing Hookshot user agent or hook id: %v", i, r.header)
			}
			if !bytes.Equal(r.body, d.Payload) || d.Status != http.StatusAccepted || d.Err != "" {
				t.Errorf("delivery %d: body differs or status %d err %q", i, d.Status, d.Err)
			}
		}
	})

	t.Run("payload details", func(t *testing.T) {
		type user struct {
			Login string `json:"login"`
			Type  string `json:"type"`
		}
		var byKey = map[string][]map[string]json.RawMessage{}
		for _, d := range deliveries {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(d.Payload, &m); err != nil {
				t.Fatal(err)
			}
			byKey[d.Event+"/"+d.Action] = append(byKey[d.Event+"/"+d.Action], m)
		}
		field := func(m map[string]json.RawMessage, key string, v any) {
			t.Helper()
			if err := json.Unmarshal(m[key], v); err != nil {
				t.Fatalf("decoding %s: %v", key, err)
			}
		}
		var opened struct {
			Draft bool `json:"draft"`
			User  user `json:"user"`
			Head  struct {
				Ref  string `json:"ref"`
				Repo struct {
					FullName string `json:"full_name"`
					Fork     bool   `json:"fork"`
				} `json:"repo"`
			} `json:"head"`
			Labels []struct{ Name string } `json:"labels"`
		}
		field(byKey["pull_request/opened"][0], "pull_request", &opened)
		if !opened.Draft || opened.User.Login != "alice" || opened.Head.Ref != "feature/stack" || len(opened.Labels) != 2 {
			t.Errorf("opened draft PR payload wrong: %+v", opened)
		}
		field(byKey["pull_request/opened"][1], "pull_request", &opened)
		if !opened.Head.Repo.Fork || opened.Head.Repo.FullName != "mallory/app" || opened.Draft {
			t.Errorf("fork PR head repo wrong: %+v", opened)
		}
		var bot, human user
		field(byKey["issue_comment/created"][1], "sender", &bot)
		field(byKey["issue_comment/created"][0], "sender", &human)
		if bot != (user{"stagecoach[bot]", "Bot"}) || human != (user{"bob", "User"}) {
			t.Errorf("comment senders = %+v and %+v", bot, human)
		}
		var merged struct {
			Merged         bool   `json:"merged"`
			MergeCommitSHA string `json:"merge_commit_sha"`
		}
		field(byKey["pull_request/closed"][1], "pull_request", &merged)
		var push struct {
			After string `json:"after"`
			Ref   string `json:"ref"`
		}
		last := byKey["push/"][len(byKey["push/"])-2] // the merge push; the last is bob/tool's
		field(last, "after", &push.After)
		field(last, "ref", &push.Ref)
		if !merged.Merged || merged.MergeCommitSHA == "" || push.After != merged.MergeCommitSHA || push.Ref != "refs/heads/main" {
			t.Errorf("merge: closed payload %+v, push %+v", merged, push)
		}
		if _, ok := byKey["pull_request/opened"][0]["organization"]; !ok {
			t.Error("org repository payload lacks organization")
		}
		if _, ok := byKey["pull_request/opened"][2]["organization"]; ok {
			t.Error("user repository payload has organization")
		}
	})
}

func TestRedeliverReusesTheDeliveryID(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, http.StatusOK)
	sim, _ := newSim(t, Options{WebhookURL: rc.srv.URL, WebhookSecret: testSecret})
	if _, err := sim.OpenPR("acme/app", PROptions{Author: "alice"}); err != nil {
		t.Fatal(err)
	}
	first := sim.Deliveries()[1] // [0] is the branch push
	status, err := sim.Redeliver(first.ID)
	if err != nil || status != http.StatusOK {
		t.Fatalf("Redeliver = %d, %v", status, err)
	}
	recv := rc.all()
	last := recv[len(recv)-1]
	if got := last.header.Get("X-GitHub-Delivery"); got != first.ID || !bytes.Equal(last.body, first.Payload) || !last.signature {
		t.Errorf("redelivery id %q (want %q), same body %v, signed %v", got, first.ID, bytes.Equal(last.body, first.Payload), last.signature)
	}
	all := sim.Deliveries()
	if d := all[len(all)-1]; d.ID != first.ID || !d.Redelivery || d.Status != http.StatusOK {
		t.Errorf("recorded redelivery = %+v", d)
	}

	t.Run("unknown delivery id is an error", func(t *testing.T) {
		if _, err := sim.Redeliver("00000000-0000-4000-8000-000000000000"); err == nil {
			t.Error("Redeliver of an unknown id succeeded")
		}
	})
}

func TestDeliveriesWithoutWebhookURL(t *testing.T) {
	t.Parallel()
	sim, _ := newSim(t, Options{})
	if _, err := sim.Commit("acme/app", "main", map[string]string{"a": "b"}, "msg"); err != nil {
		t.Fatal(err)
	}
	d := sim.Deliveries()
	if len(d) != 1 || d[0].Status != 0 || d[0].Err == "" {
		t.Fatalf("deliveries = %+v, want one unsent push", d)
	}

	t.Run("are sent after SetWebhookURL", func(t *testing.T) {
		rc := newReceiver(t, http.StatusNoContent)
		sim.SetWebhookURL(rc.srv.URL)
		status, err := sim.Redeliver(d[0].ID)
		if err != nil || status != http.StatusNoContent || len(rc.all()) != 1 {
			t.Fatalf("Redeliver = %d, %v; receiver got %d", status, err, len(rc.all()))
		}
	})

	t.Run("a receiver error status is recorded", func(t *testing.T) {
		rc := newReceiver(t, http.StatusInternalServerError)
		sim.SetWebhookURL(rc.srv.URL)
		if _, err := sim.Commit("acme/app", "main", map[string]string{"a": "c"}, "msg"); err != nil {
			t.Fatal(err)
		}
		all := sim.Deliveries()
		if got := all[len(all)-1].Status; got != http.StatusInternalServerError {
			t.Errorf("status = %d, want 500", got)
		}
	})
}
