package githubsim

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

// statusOf returns the HTTP status of a go-github error, 0 if it has none.
func statusOf(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		return er.Response.StatusCode
	}
	return 0
}

func TestIssueComments(t *testing.T) {
	t.Parallel()
	sim, inst := newSim(t, Options{})
	gh := installationClient(t, sim, inst)
	ctx := testContext(t)
	pr, err := sim.OpenPR("acme/app", PROptions{Author: "alice"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a body of exactly 65536 characters is accepted", func(t *testing.T) {
		c, _, err := gh.Issues.CreateComment(ctx, "acme", "app", pr.Number, &github.IssueComment{Body: github.String(strings.Repeat("é", 65536))})
		if err != nil {
			t.Fatalf("CreateComment: %v", err)
		}
		if c.GetUser().GetLogin() != "stagecoach[bot]" || c.GetUser().GetType() != "Bot" {
			t.Errorf("comment author = %+v", c.GetUser())
		}
	})

	t.Run("a body over 65536 characters is 422 with GitHub's error shape", func(t *testing.T) {
		_, _, err := gh.Issues.CreateComment(ctx, "acme", "app", pr.Number, &github.IssueComment{Body: github.String(strings.Repeat("x", 65537))})
		var er *github.ErrorResponse
		if !errors.As(err, &er) || er.Response.StatusCode != 422 || er.Message != "Validation Failed" ||
			len(er.Errors) != 1 || er.Errors[0].Field != "body" || er.Errors[0].Resource != "IssueComment" {
			t.Fatalf("err = %v", err)
		}
		c, _, err := gh.Issues.CreateComment(ctx, "acme", "app", pr.Number, &github.IssueComment{Body: github.String("short")})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = gh.Issues.EditComment(ctx, "acme", "app", c.GetID(), &github.IssueComment{Body: github.String(strings.Repeat("x", 65537))})
		if statusOf(err) != 422 {
			t.Errorf("edit to an over-long body: %v", err)
		}
	})

	t.Run("edit, react, list and delete", func(t *testing.T) {
		c, _, err := gh.Issues.CreateComment(ctx, "acme", "app", pr.Number, &github.IssueComment{Body: github.String("Preview running")})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := gh.Issues.EditComment(ctx, "acme", "app", c.GetID(), &github.IssueComment{Body: github.String("Preview done")}); err != nil {
			t.Fatal(err)
		}
		humanID, err := sim.Comment("acme/app", pr.Number, "bob", "/stagecoach deploy")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "app", humanID, "eyes"); err != nil {
			t.Fatal(err)
		}
		_, resp, err := gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "app", humanID, "eyes")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("repeating a reaction: %v, %v (want 200)", resp, err)
		}
		if _, _, err := gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "app", humanID, "thumbsup"); statusOf(err) != 422 {
			t.Errorf("invalid reaction content: %v", err)
		}
		if got := sim.Reactions("acme/app", humanID); !slices.Equal(got, []string{"eyes"}) {
			t.Errorf("Reactions = %q", got)
		}
		list, _, err := gh.Issues.ListComments(ctx, "acme", "app", pr.Number, nil)
		if err != nil {
			t.Fatal(err)
		}
		last := list[len(list)-1]
		if last.GetUser().GetLogin() != "bob" || last.GetReactions().GetEyes() != 1 || last.GetAuthorAssociation() != "NONE" {
			t.Errorf("last comment = %+v", last)
		}
		if _, err := gh.Issues.DeleteComment(ctx, "acme", "app", c.GetID()); err != nil {
			t.Fatal(err)
		}
		for _, sc := range sim.Comments("acme/app", pr.Number) {
			if sc.ID == c.GetID() {
				t.Error("deleted comment is still listed")
			}
		}
		got, _, err := gh.Issues.GetComment(ctx, "acme", "app", humanID)
		if err != nil || got.GetBody() != "/stagecoach deploy" {
			t.Errorf("GetComment = %+v, %v", got, err)
		}
	})
}

func TestLabelsAndPulls(t *testing.T) {
	t.Parallel()
	sim, inst := newSim(t, Options{})
	gh := tokenClient(t, sim, inst)
	ctx := testContext(t)
	for i := range 5 {
		if _, err := sim.OpenPR("acme/app", PROptions{Author: "alice", Files: map[string]string{"f": strings.Repeat("x", i+1)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.ClosePR("acme/app", 2, true); err != nil {
		t.Fatal(err)
	}

	t.Run("labels are added, listed and removed", func(t *testing.T) {
		if _, _, err := gh.Issues.AddLabelsToIssue(ctx, "acme", "app", 1, []string{"deploy", "preview"}); err != nil {
			t.Fatal(err)
		}
		if _, err := gh.Issues.RemoveLabelForIssue(ctx, "acme", "app", 1, "deploy"); err != nil {
			t.Fatal(err)
		}
		if _, err := gh.Issues.RemoveLabelForIssue(ctx, "acme", "app", 1, "deploy"); statusOf(err) != 404 {
			t.Errorf("removing an absent label: %v", err)
		}
		labels, _, err := gh.Issues.ListLabelsByIssue(ctx, "acme", "app", 1, nil)
		if err != nil || len(labels) != 1 || labels[0].GetName() != "preview" {
			t.Fatalf("ListLabelsByIssue = %v, %v", labels, err)
		}
		if got := sim.Labels("acme/app", 1); !slices.Equal(got, []string{"preview"}) {
			t.Errorf("Labels = %q", got)
		}
	})

	t.Run("pulls are paginated with Link headers", func(t *testing.T) {
		opts := &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: 2}}
		var numbers []int
		for {
			page, resp, err := gh.PullRequests.List(ctx, "acme", "app", opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				numbers = append(numbers, p.GetNumber())
			}
			if resp.NextPage == 0 {
				if resp.FirstPage != 1 {
					t.Errorf("last page FirstPage = %d", resp.FirstPage)
				}
				break
			}
			opts.Page = resp.NextPage
		}
		if !slices.Equal(numbers, []int{5, 4, 3, 1}) {
			t.Errorf("open PRs = %v", numbers)
		}
		closed, _, err := gh.PullRequests.List(ctx, "acme", "app", &github.PullRequestListOptions{State: "closed"})
		if err != nil || len(closed) != 1 || !closed[0].GetMerged() {
			t.Errorf("closed PRs = %v, %v", closed, err)
		}
	})

	t.Run("a merge commit finds its pull request", func(t *testing.T) {
		pr, err := sim.PR("acme/app", 2)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, "acme", "app", pr.MergeCommitSHA, nil)
		if err != nil || len(got) != 1 || got[0].GetNumber() != 2 {
			t.Fatalf("ListPullRequestsWithCommit = %v, %v", got, err)
		}
		full, _, err := gh.PullRequests.Get(ctx, "acme", "app", 3)
		if err != nil || full.GetHead().GetSHA() == "" || full.GetBase().GetRef() != "main" || full.GetMergeable() != true {
			t.Fatalf("PullRequests.Get = %+v, %v", full, err)
		}
	})
}

func TestRepositoryContents(t *testing.T) {
	t.Parallel()
	sim, inst := newSim(t, Options{})
	gh := installationClient(t, sim, inst)
	ctx := testContext(t)
	sha, err := sim.Commit("acme/app", "main", map[string]string{"infra/Pulumi.yaml": "name: app2\n", "README.md": ""}, "Rename")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a file comes back base64 encoded at a ref", func(t *testing.T) {
		f, _, _, err := gh.Repositories.GetContents(ctx, "acme", "app", "infra/Pulumi.yaml", &github.RepositoryContentGetOptions{Ref: sha})
		if err != nil {
			t.Fatal(err)
		}
		content, err := f.GetContent()
		if err != nil || content != "name: app2\n" || f.GetEncoding() != "base64" || f.GetSHA() != blobSHA("name: app2\n") {
			t.Errorf("content = %q, %v", content, err)
		}
		rc, _, err := gh.Repositories.DownloadContents(ctx, "acme", "app", "infra/Pulumi.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if b, _ := io.ReadAll(rc); string(b) != "name: app2\n" {
			t.Errorf("DownloadContents = %q", b)
		}
	})

	t.Run("a directory lists its entries", func(t *testing.T) {
		_, dir, _, err := gh.Repositories.GetContents(ctx, "acme", "app", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range dir {
			names = append(names, e.GetName()+":"+e.GetType())
		}
		if !slices.Equal(names, []string{".stagecoach.yaml:file", "infra:dir"}) {
			t.Errorf("root = %q", names)
		}
	})

	t.Run("a missing path or a deleted file is 404", func(t *testing.T) {
		_, _, _, err := gh.Repositories.GetContents(ctx, "acme", "app", "README.md", nil)
		if statusOf(err) != 404 {
			t.Errorf("deleted file: %v", err)
		}
		_, _, _, err = gh.Repositories.GetContents(ctx, "acme", "app", "README.md", &github.RepositoryContentGetOptions{Ref: "main~1"})
		if statusOf(err) != 404 {
			t.Errorf("unknown ref: %v", err)
		}
	})

	t.Run("branches and commits resolve", func(t *testing.T) {
		b, _, err := gh.Repositories.GetBranch(ctx, "acme", "app", "main", 0)
		if err != nil || b.GetCommit().GetSHA() != sha {
			t.Fatalf("GetBranch = %+v, %v", b, err)
		}
		c, _, err := gh.Repositories.GetCommit(ctx, "acme", "app", sha[:7], nil)
		if err != nil || c.GetSHA() != sha || len(c.Files) != 2 || c.GetCommit().GetMessage() != "Rename" {
			t.Fatalf("GetCommit = %+v, %v", c, err)
		}
		// go-github returns a plain error here; the status is on the response.
		if _, resp, err := gh.Repositories.GetBranch(ctx, "acme", "app", "nope", 0); err == nil || resp.StatusCode != 404 {
			t.Errorf("unknown branch: %v", err)
		}
	})
}

func TestTarballThroughGetArchiveLink(t *testing.T) {
	t.Parallel()
	sim, inst := newSim(t, Options{})
	gh := installationClient(t, sim, inst)
	ctx := testContext(t)
	pr, err := sim.OpenPR("acme/app", PROptions{Author: "mallory", FromFork: true, Files: map[string]string{"infra/main.yaml": "resources: {}\n"}})
	if err != nil {
		t.Fatal(err)
	}
	link, resp, err := gh.Repositories.GetArchiveLink(ctx, "acme", "app", github.Tarball, &github.RepositoryContentGetOptions{Ref: pr.HeadSHA}, 0)
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("GetArchiveLink = %v, %v", resp, err)
	}
	// The signed URL needs no Authorization header, like codeload's.
	dl, err := (&http.Client{Transport: transport(t)}).Get(link.String())
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Body.Close()
	if dl.StatusCode != 200 {
		t.Fatalf("download status %d", dl.StatusCode)
	}
	gz, err := gzip.NewReader(dl.Body)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	top := "acme-app-" + pr.HeadSHA[:7] + "/"
	files := map[string]string{}
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Typeflag == tar.TypeXGlobalHeader {
			if h.PAXRecords["comment"] != pr.HeadSHA {
				t.Errorf("pax comment = %q, want the commit SHA", h.PAXRecords["comment"])
			}
			continue
		}
		if !strings.HasPrefix(h.Name, top) {
			t.Errorf("entry %q outside the single top directory %q", h.Name, top)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[strings.TrimPrefix(h.Name, top)] = string(b)
		}
	}
	want, _ := sim.Files("acme/app", pr.HeadSHA)
	if len(files) != len(want) || files["infra/main.yaml"] != "resources: {}\n" || files["README.md"] != "# app\n" {
		t.Errorf("tarball files = %v (entries %q), want %v", files, names, want)
	}
	if !slices.Contains(names, top+"infra/") {
		t.Errorf("no directory entry for infra/: %q", names)
	}

	t.Run("the signed URL is refused for another commit", func(t *testing.T) {
		repo, _ := sim.Repo("acme/app")
		bad := strings.Replace(link.String(), pr.HeadSHA, repo.HeadSHA, 1)
		resp, err := (&http.Client{Transport: transport(t)}).Get(bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})

	t.Run("zipball links work too", func(t *testing.T) {
		link, _, err := gh.Repositories.GetArchiveLink(ctx, "acme", "app", github.Zipball, nil, 0)
		if err != nil || !strings.Contains(link.Path, "/legacy.zip/") {
			t.Fatalf("zipball link %v, %v", link, err)
		}
	})

	t.Run("an unknown ref is 404", func(t *testing.T) {
		_, resp, err := gh.Repositories.GetArchiveLink(ctx, "acme", "app", github.Tarball, &github.RepositoryContentGetOptions{Ref: "nope"}, 0)
		if err == nil || resp.StatusCode != 404 {
			t.Errorf("err = %v", err)
		}
	})
}

func TestPermissionsAndTeams(t *testing.T) {
	t.Parallel()
	sim, inst := newSim(t, Options{})
	gh := tokenClient(t, sim, inst)
	ctx := testContext(t)
	sim.SetCollaborator("acme/app", "carol", "maintain")
	sim.SetCollaborator("acme/app", "dave", "triage")
	sim.SetCollaborator("acme/app", "erin", "write")
	sim.SetCollaborator("acme/app", "erin", "none")
	sim.AddTeamMember("acme", "platform", "carol")

	for login, want := range map[string][2]string{
		"carol": {"write", "maintain"}, "dave": {"read", "triage"}, "erin": {"none", "none"}, "acme": {"admin", "admin"},
	} {
		p, _, err := gh.Repositories.GetPermissionLevel(ctx, "acme", "app", login)
		if err != nil || p.GetPermission() != want[0] || p.GetUser().GetRoleName() != want[1] || p.GetUser().GetLogin() != login {
			t.Errorf("%s: permission %q role %q, %v; want %v", login, p.GetPermission(), p.GetUser().GetRoleName(), err, want)
		}
	}
	m, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, "acme", "platform", "carol")
	if err != nil || m.GetState() != "active" {
		t.Errorf("carol membership = %+v, %v", m, err)
	}
	if _, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, "acme", "platform", "dave"); statusOf(err) != 404 {
		t.Errorf("dave membership: %v", err)
	}
	if _, err := sim.Comment("acme/app", mustPR(t, sim, "carol"), "carol", "hi"); err != nil {
		t.Fatal(err)
	}
	list, _, err := gh.Issues.ListComments(ctx, "acme", "app", 1, nil)
	if err != nil || list[0].GetAuthorAssociation() != "MEMBER" {
		t.Errorf("org member association = %q, %v", list[0].GetAuthorAssociation(), err)
	}
}

func mustPR(t *testing.T, sim *Sim, author string) int {
	t.Helper()
	pr, err := sim.OpenPR("acme/app", PROptions{Author: author})
	if err != nil {
		t.Fatal(err)
	}
	return pr.Number
}
