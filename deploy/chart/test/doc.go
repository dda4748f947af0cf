// Package chart holds the tests of the Helm chart in deploy/chart/stagecoach, and nothing else. They
// render the chart with Helm's own engine (no cluster, no helm binary) and check what comes out: every
// object decodes strictly into its Kubernetes API type, every pod passes Pod Security "restricted",
// every variable the chart sets is a setting the bot knows and every setting `bot serve` needs is
// there, the Pulumi runner gets no secret, and the chart refuses what cannot work, saying why.
//
// It is a module of its own so that the bot's go.mod does not carry Helm; run it with
//
//	go -C deploy/chart test ./...
package chart
