package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestChildEnvInheritsOnlyTheAllowlist(t *testing.T) {
	t.Parallel()
	parent := []string{
		"PATH=/usr/bin:/bin", "HOME=/root", "TMPDIR=/bot/tmp", "LANG=C.UTF-8", "LC_ALL=C", "TZ=UTC",
		"STAGECOACH_WEBHOOK_SECRET=whsec", "STAGECOACH_DATABASE_URL=postgres://u:p@db/x", "STAGECOACH_GITHUB_PRIVATE_KEY=pem",
		"stagecoach_lower=x", "GITHUB_TOKEN=ghp", "GH_TOKEN=gho", "DATABASE_URL=postgres://a", "MY_DATABASE_URL=postgres://b",
		"PGPASSWORD=pw", "PULUMI_CONFIG_PASSPHRASE=parent-pass", "PULUMI_HOME=/parent/home", "RANDOM_SECRET=r",
		"AWS_ACCESS_KEY_ID=AKIA", "AWS_SECRET_ACCESS_KEY=aws-secret", "KUBECONFIG=/k", "GOOGLE_CREDENTIALS=g", "not-a-pair",
	}
	additional := []string{"PULUMI_HOME=/engine/home", "PULUMI_CONFIG_PASSPHRASE=engine-pass", "STAGECOACH_SNEAKY=x", "PATH=/evil"}
	inherit := append(append([]string(nil), DefaultInheritEnv...), "STAGECOACH_*", "*")
	got := childEnv(parent, inherit, []string{"/lang"}, "/engine/home/home", "/engine/home/tmp", additional)

	env := map[string][]string{}
	for _, kv := range got {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = append(env[k], v)
	}
	for _, k := range []string{"STAGECOACH_WEBHOOK_SECRET", "STAGECOACH_DATABASE_URL", "STAGECOACH_GITHUB_PRIVATE_KEY",
		"stagecoach_lower", "STAGECOACH_SNEAKY", "GITHUB_TOKEN", "GH_TOKEN", "DATABASE_URL", "MY_DATABASE_URL", "PGPASSWORD"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s reached the child even though an operator's glob matched it", k)
		}
	}
	want := map[string]string{
		"HOME": "/engine/home/home", "TMPDIR": "/engine/home/tmp", "LANG": "C.UTF-8", "LC_ALL": "C", "TZ": "UTC",
		"PULUMI_HOME": "/engine/home", "PULUMI_CONFIG_PASSPHRASE": "engine-pass", "AWS_SECRET_ACCESS_KEY": "aws-secret",
		"KUBECONFIG": "/k", "PATH": "/lang:/usr/bin:/bin", "PULUMI_AUTOMATION_API": "true",
	}
	for k, v := range want {
		if !slices.Equal(env[k], []string{v}) {
			t.Errorf("%s = %q, want exactly %q", k, env[k], v)
		}
	}

	t.Run("the default passes cloud credentials only", func(t *testing.T) {
		t.Parallel()
		got := childEnv(parent, DefaultInheritEnv, nil, "/h", "/t", nil)
		joined := strings.Join(got, "\n")
		for _, leak := range []string{"RANDOM_SECRET", "whsec", "/root", "/bot/tmp", "parent-pass"} {
			if strings.Contains(joined, leak) {
				t.Errorf("the child's environment holds %q:\n%s", leak, joined)
			}
		}
		if !strings.Contains(joined, "AWS_ACCESS_KEY_ID=AKIA") || !strings.Contains(joined, "GOOGLE_CREDENTIALS=g") {
			t.Errorf("cloud credentials missing:\n%s", joined)
		}
	})
}

func TestFlagSafe(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want []string }{
		{[]string{"stack", "init", "-s", "--secrets-provider", "passphrase"}, []string{"stack", "init", "--stack=-s", "--secrets-provider=passphrase"}},
		{[]string{"stack", "select", "--stack", "--help"}, []string{"stack", "select", "--stack=--help"}},
		{[]string{"config", "set-all", "--stack", "dev", "--plaintext", "a:b=1", "--secret", "c:d=--x"},
			[]string{"config", "set-all", "--stack=dev", "--plaintext=a:b=1", "--secret=c:d=--x"}},
		{[]string{"config", "set", "--stack", "dev", "k", "--secret", "--", "--v"}, []string{"config", "set", "--stack=dev", "k", "--secret", "--", "--v"}},
		{[]string{"stack", "output", "--json", "--show-secrets", "--stack", "x"}, []string{"stack", "output", "--json", "--show-secrets", "--stack=x"}},
	} {
		if got := flagSafe(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("flagSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNamesThatLookLikeFlagsAreRefused(t *testing.T) {
	t.Parallel()
	run := func(*pulumi.Context) error { return nil }
	for name, req := range map[string]Request{
		"stack -1":        {Program: StateOnly("app"), Stack: "-1"},
		"stack --pr1":     {Program: StateOnly("app"), Stack: "--pr1"},
		"stack --help":    {Program: StateOnly("app"), Stack: "--help"},
		"stack -s":        {Program: StateOnly("app"), Stack: "-s"},
		"stack .hidden":   {Program: StateOnly("app"), Stack: ".hidden"},
		"qualified part":  {Program: StateOnly("app"), Stack: "org/-app/dev"},
		"long stack":      {Program: StateOnly("app"), Stack: strings.Repeat("a", 101)},
		"project -p":      {Program: InlineProgram("-p", run), Stack: "dev"},
		"config --secret": {Program: StateOnly("app"), Stack: "dev", Config: map[string]ConfigValue{"--secret": {}}},
		"tag -x":          {Program: StateOnly("app"), Stack: "dev", Tags: map[string]string{"-x": "1"}},
		"tag value --yes": {Program: StateOnly("app"), Stack: "dev", Tags: map[string]string{"a": "--yes"}},
	} {
		if err := req.validate(false); err == nil {
			t.Errorf("%s: validate accepted %+v", name, req)
		}
	}
	if err := (Request{Program: StateOnly("app"), Stack: strings.Repeat("a", 100)}).validate(false); err != nil {
		t.Errorf("a 100-character stack name was refused: %v", err)
	}
}

func TestMaskerStripsTheBotsDirectories(t *testing.T) {
	t.Parallel()
	m := newMasker()
	m.add("hunter22")
	m.addPath("/var/lib/stagecoach/work/op-1234/project", "")
	m.addPath("/var/lib/stagecoach/work/op-1234", "")
	m.addPath("/var/lib/stagecoach/pulumi-home", "$PULUMI_HOME")
	for in, want := range map[string]string{
		"could not unmarshal '/var/lib/stagecoach/work/op-1234/project/Pulumi.yaml': bad": "could not unmarshal 'Pulumi.yaml': bad",
		"in /var/lib/stagecoach/work/op-1234/project":                                     "in .",
		"/var/lib/stagecoach/work/op-1234/Pulumi.dev.yaml":                                "Pulumi.dev.yaml",
		"plugin /var/lib/stagecoach/pulumi-home/plugins/x hunter22":                       "plugin $PULUMI_HOME/plugins/x [secret]",
	} {
		if got := m.mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigRefusesTheBotsOwnVariables(t *testing.T) {
	t.Parallel()
	base := Config{PulumiCommand: "/p", BackendURL: "file:///s", Passphrase: "x", PulumiHome: "/h", WorkDir: "/w"}
	for _, env := range []map[string]string{{"STAGECOACH_WEBHOOK_SECRET": "x"}, {"GITHUB_TOKEN": "x"}, {"HOME": "/x"}, {"DATABASE_URL": "x"}} {
		c := base
		c.Env = env
		if err := c.Validate(); err == nil {
			t.Errorf("Validate accepted Env %v", env)
		}
	}
	c := base
	c.InheritEnv = []string{"AWS_[", ""}
	if err := c.Validate(); err == nil {
		t.Error("Validate accepted broken inherit globs")
	}
}
