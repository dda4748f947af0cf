// Command infra is the Pulumi program behind stagecoach's environments: one
// architecture for dev, staging, prod and every pr-<n> stack, which differ
// only in configuration (Pulumi.<stack>.yaml, parsed into Config).
// README.md has the sizing table, the address plan and what sleeping does.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		return program(ctx, goSeedBuild{dir: "seed", cacheDir: filepath.Join(cache, projectNamespace)})
	})
}

// program loads and validates the stack's configuration, then declares the
// environment. Nothing is declared when the configuration is invalid.
func program(ctx *pulumi.Context, code seedCode) error {
	cfg, err := loadConfig(ctx)
	if err != nil {
		return err
	}
	return run(ctx, cfg, code)
}

// run declares one environment from its validated configuration.
func run(ctx *pulumi.Context, cfg Config, code seedCode) error {
	zones, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("available")})
	if err != nil {
		return fmt.Errorf("listing availability zones in %s: %w", cfg.Region, err)
	}
	if len(zones.Names) < cfg.Network.AZCount {
		return fmt.Errorf("%s.azCount: region %s has %d available zones, the stack asks for %d",
			keyNetwork, cfg.Region, len(zones.Names), cfg.Network.AZCount)
	}

	net, err := newNetwork(ctx, cfg, zones.Names[:cfg.Network.AZCount])
	if err != nil {
		return err
	}
	db, err := newDatabase(ctx, cfg, net)
	if err != nil {
		return err
	}
	if err := newParameters(ctx, cfg); err != nil {
		return err
	}
	svc, err := newService(ctx, cfg, net, db)
	if err != nil {
		return err
	}
	if err := newMonitoring(ctx, cfg, svc, db); err != nil {
		return err
	}
	if cfg.Seed.Enabled {
		if err := newSeedJob(ctx, cfg, net, db, code); err != nil {
			return err
		}
	}

	ctx.Export("environment", pulumi.String(cfg.Environment()))
	ctx.Export("vpcCidr", pulumi.String(cfg.vpcCIDR().String()))
	ctx.Export("url", svc.url)
	ctx.Export("dnsZone", pulumi.String(cfg.dnsZone()))
	ctx.Export("parameterPath", pulumi.String(cfg.parameterPath()))
	ctx.Export("databaseEndpoint", db.cluster.Endpoint)
	ctx.Export("sleeping", pulumi.Bool(cfg.Sleeping))
	ctx.Export("commit", pulumi.String(cfg.Commit))
	ctx.Export("ref", pulumi.String(cfg.Ref))
	return nil
}
