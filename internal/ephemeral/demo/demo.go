// Package demo holds the sample repository `bot demo` and the end-to-end tests deploy: a YAML
// Pulumi project that needs no cloud account and no provider plugin, whose outputs (an
// environment URL and a network range) derive from the per-PR values the bot sets.
package demo

import "maps"

// Config is the sample repository's .stagecoach.yaml: PR environments on, everything else default.
const Config = `# PR environments for every pull request; see the README for every field.
version: 1
project: infra
environments: []
ephemeral:
  enabled: true
`

// Project is the sample Pulumi project, under infra/. stagecoach:pr and stagecoach:slot are set
// by the bot on every PR stack; Pulumi.pr.yaml is the template every PR stack starts from.
var Project = map[string]string{
	"infra/Pulumi.yaml": `name: storefront
runtime: yaml
description: A sample storefront whose PR environments need no cloud account.
config:
  stagecoach:pr:
    value: "0"
  stagecoach:slot:
    value: "0"
  greeting:
    value: hello
outputs:
  url: https://pr-${stagecoach:pr}.storefront.example.com
  network: 10.${stagecoach:slot}.0.0/16
  greeting: ${greeting}
`,
	"infra/Pulumi.pr.yaml": "config:\n  storefront:greeting: hello from a pull request\n",
	"README.md":            "# storefront\n\nA sample repository for `bot demo`.\n",
}

// Files returns the whole sample repository: the config and the project.
func Files() map[string]string {
	out := maps.Clone(Project)
	out[".stagecoach.yaml"] = Config
	return out
}
