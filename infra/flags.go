package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// parameterPath is the environment's prefix in SSM Parameter Store. The
// service gets it as STAGECOACH_PARAMETER_PATH and reads
// <path>settings/<name> and <path>flags/<name> at runtime.
func (c Config) parameterPath() string { return "/stagecoach/" + c.Environment() + "/" }

// newParameters writes settings and feature flags to the parameter store, one
// parameter each. Changing a value updates that parameter in place; no other
// resource reads the values, so nothing is replaced or redeployed.
func newParameters(ctx *pulumi.Context, cfg Config) error {
	for _, name := range slices.Sorted(maps.Keys(cfg.Settings)) {
		if _, err := ssm.NewParameter(ctx, "setting-"+name, &ssm.ParameterArgs{
			Name:          pulumi.String(cfg.parameterPath() + "settings/" + name),
			Type:          pulumi.String("String"),
			Tier:          pulumi.String("Standard"),
			InsecureValue: pulumi.String(cfg.Settings[name]),
			Description:   pulumi.String("application setting (stagecoach-infra:settings)"),
			Tags:          cfg.tags("setting-" + name),
		}); err != nil {
			return fmt.Errorf("declaring setting %s: %w", name, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Flags)) {
		if _, err := ssm.NewParameter(ctx, "flag-"+name, &ssm.ParameterArgs{
			Name:           pulumi.String(cfg.parameterPath() + "flags/" + name),
			Type:           pulumi.String("String"),
			Tier:           pulumi.String("Standard"),
			InsecureValue:  pulumi.String(strconv.FormatBool(cfg.Flags[name])),
			AllowedPattern: pulumi.String("^(true|false)$"),
			Description:    pulumi.String("feature flag (stagecoach-infra:flags)"),
			Tags:           cfg.tags("flag-" + name),
		}); err != nil {
			return fmt.Errorf("declaring flag %s: %w", name, err)
		}
	}
	return nil
}
