package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/stagecoach/stagecoach/internal/stackkeys"
)

// projectNamespace is the config namespace of the program's own settings
// (the project name in Pulumi.yaml).
const projectNamespace = "stagecoach-infra"

// Config keys. Objects are YAML maps in the stack file, which Pulumi hands to
// the program as JSON strings.
const (
	keyRegion     = "aws:region"
	keyProduction = projectNamespace + ":production"
	keyEphemeral  = projectNamespace + ":ephemeral"
	keyNetwork    = projectNamespace + ":network"
	keyService    = projectNamespace + ":service"
	keyDatabase   = projectNamespace + ":database"
	keyMonitoring = projectNamespace + ":monitoring"
	keySeed       = projectNamespace + ":seed"
	keySettings   = projectNamespace + ":settings"
	keyFlags      = projectNamespace + ":flags"
	keyPR         = stackkeys.PR
	keySlot       = stackkeys.Slot
	keySleeping   = stackkeys.Sleeping
	keyCommit     = stackkeys.Commit
	keyRef        = stackkeys.Ref
)

// configKeys lists every key the program reads. A stack file key in the
// program's or the bot's namespace that is not listed here is an error.
func configKeys() []string {
	return []string{
		keyRegion, keyProduction, keyEphemeral, keyNetwork, keyService, keyDatabase,
		keyMonitoring, keySeed, keySettings, keyFlags, keyPR, keySlot, keySleeping, keyCommit, keyRef,
	}
}

// Config is one stack's configuration: everything that differs between
// environments, parsed and validated before any resource is declared.
type Config struct {
	// Stack is the Pulumi stack name, which is also the environment's name
	// (dev, staging, prod, pr-42…).
	Stack string
	// Region is aws:region. Required.
	Region string
	// Production marks a production environment (stagecoach-infra:production):
	// stricter rules apply and seeding and sleeping are refused. Default false.
	Production bool
	// Ephemeral marks the PR template and the pr-<n> stacks made from it
	// (stagecoach-infra:ephemeral). Default false.
	Ephemeral bool
	// PR is the pull request number (stagecoach:pr), set by the bot on PR
	// stacks only. Default 0 (not a PR stack).
	PR int
	// Slot is the PR stack's address block (stagecoach:slot, 0–255), set by the
	// bot next to stagecoach:pr. Required on PR stacks; -1 when unset.
	Slot int
	// Sleeping scales the environment to its floor (stagecoach:sleeping), set
	// by the bot's scheduler. Refused in production. Default false.
	Sleeping bool
	// Commit is the full SHA of the commit being deployed (stagecoach:commit),
	// set by the bot on every operation. Default "" (run by hand).
	Commit string
	// Ref is the branch being deployed (stagecoach:ref): the PR's head branch
	// or the default branch, set by the bot on every operation. Default "".
	Ref string
	// Network is stagecoach-infra:network.
	Network NetworkConfig
	// Service is stagecoach-infra:service.
	Service ServiceConfig
	// Database is stagecoach-infra:database.
	Database DatabaseConfig
	// Monitoring is stagecoach-infra:monitoring.
	Monitoring MonitoringConfig
	// Seed is stagecoach-infra:seed.
	Seed SeedConfig
	// Settings are application settings written to the runtime parameter
	// store (stagecoach-infra:settings), name → value. Default none.
	Settings map[string]string
	// Flags are feature flags written to the runtime parameter store
	// (stagecoach-infra:flags), name → on/off. Default none.
	Flags map[string]bool
}

// NetworkConfig is the environment's VPC.
type NetworkConfig struct {
	// VPCCIDR is the VPC's address range, a /16–/24 inside the fixed pool
	// 10.0.0.0/9 that overlaps no other environment. Required on fixed
	// environments; must be empty on PR stacks, whose range comes from the slot.
	VPCCIDR string `json:"vpcCidr"`
	// AZCount is the number of availability zones, 2–3 (the load balancer and
	// the database need two; production needs three). Required.
	AZCount int `json:"azCount"`
	// NATGateways is "single" (one NAT gateway for the VPC) or "perAz" (one per
	// availability zone; required in production). Required.
	NATGateways string `json:"natGateways"`
	// AllowedCIDRs may reach the load balancer on ports 80 and 443. Outside
	// production these are the VPN and office ranges; 0.0.0.0/0 is accepted in
	// production only, and no entry may overlap 10.0.0.0/8, the environments'
	// address space. Required.
	AllowedCIDRs []string `json:"allowedCidrs"`
}

// ServiceConfig is the application service: ECS on Fargate behind an
// application load balancer.
type ServiceConfig struct {
	// ImageRepository is where CI pushes the application's image, tagged with
	// the full commit SHA it built (e.g. ghcr.io/acme/shop): the service runs
	// <imageRepository>:<stagecoach:commit>, so a pull request's environment
	// runs that pull request's build and promoting a commit promotes the
	// build of that commit. Exactly one of ImageRepository and Image.
	ImageRepository string `json:"imageRepository"`
	// Image pins a complete image reference instead (repository:tag or
	// @digest), whatever commit is deployed: for an application that is not
	// built from this repository. Exactly one of ImageRepository and Image.
	Image string `json:"image"`
	// CPU is the Fargate task size in CPU units (256, 512, 1024, 2048, 4096). Required.
	CPU int `json:"cpu"`
	// MemoryMiB is the task memory, a valid Fargate pairing for CPU. Required.
	MemoryMiB int `json:"memoryMiB"`
	// MinReplicas is the number of tasks at rest, ≥ 1 (production: ≥ AZCount,
	// one per zone). Required.
	MinReplicas int `json:"minReplicas"`
	// MaxReplicas is the autoscaling ceiling, ≥ MinReplicas; above MinReplicas
	// it enables target tracking on CPU (required in production). Required.
	MaxReplicas int `json:"maxReplicas"`
	// TargetCPUPercent is the autoscaling target, 10–90. Required when
	// MaxReplicas > MinReplicas.
	TargetCPUPercent int `json:"targetCpuPercent"`
	// ContainerPort is the port the application listens on. Default 8080.
	ContainerPort int `json:"containerPort"`
	// HealthCheckPath is the load balancer's health check path. Default "/healthz".
	HealthCheckPath string `json:"healthCheckPath"`
	// LogRetentionDays is how long CloudWatch keeps the service's and the seed
	// job's logs; one of CloudWatch's allowed values. Required.
	LogRetentionDays int `json:"logRetentionDays"`
	// CertificateARN is an ACM certificate in Region; when set the load
	// balancer serves HTTPS on 443 and redirects 80. Default none (HTTP only).
	CertificateARN string `json:"certificateArn"`
}

// DatabaseConfig is the Aurora PostgreSQL Serverless v2 cluster.
type DatabaseConfig struct {
	// EngineVersion is the aurora-postgresql version; it must support scaling
	// to 0 ACU (13.15+, 14.12+, 15.7+, 16.3+). Default "16.6".
	EngineVersion string `json:"engineVersion"`
	// Instances is the number of cluster instances, 1–3, placed round-robin
	// over the availability zones (production: ≥ 2, multi-AZ). Required.
	Instances int `json:"instances"`
	// MinCapacityACU is the awake floor, 0.5–256 in steps of 0.5. Required.
	MinCapacityACU float64 `json:"minCapacityAcu"`
	// MaxCapacityACU is the ceiling, ≥ MinCapacityACU and ≥ 1. Required.
	MaxCapacityACU float64 `json:"maxCapacityAcu"`
	// BackupRetentionDays is 1–35 (production: ≥ 7). Required.
	BackupRetentionDays int `json:"backupRetentionDays"`
	// DeletionProtection blocks deleting the cluster (required in production).
	// Default false.
	DeletionProtection bool `json:"deletionProtection"`
}

// MonitoringConfig is the environment's CloudWatch alarms.
type MonitoringConfig struct {
	// Notify sends alarm and recovery notifications to the environment's SNS
	// topic (required in production). Default false: alarms only change state.
	Notify bool `json:"notify"`
	// AlarmEmails are subscribed to the topic when Notify is set. Default none.
	AlarmEmails []string `json:"alarmEmails"`
	// EvaluationMinutes is how many consecutive one-minute periods must breach
	// before an alarm fires, 1–60. Required.
	EvaluationMinutes int `json:"evaluationMinutes"`
	// CPUHighPercent is the service's average CPU alarm threshold, 1–100. Required.
	CPUHighPercent float64 `json:"cpuHighPercent"`
	// MemoryHighPercent is the service's average memory alarm threshold, 1–100. Required.
	MemoryHighPercent float64 `json:"memoryHighPercent"`
	// HTTP5xxPerMinute is the target 5xx responses per minute alarm threshold, > 0. Required.
	HTTP5xxPerMinute float64 `json:"http5xxPerMinute"`
	// LatencyP99Seconds is the p99 target response time alarm threshold, > 0. Required.
	LatencyP99Seconds float64 `json:"latencyP99Seconds"`
	// DBCPUHighPercent is the database's CPU alarm threshold, 1–100. Required.
	DBCPUHighPercent float64 `json:"dbCpuHighPercent"`
}

// SeedConfig is the one-off job that loads sample data (infra/seed).
type SeedConfig struct {
	// Enabled runs the seed job after the database is created (refused in
	// production). Default false.
	Enabled bool `json:"enabled"`
	// SecretsExtensionLayerARN is the arm64 AWS Parameters and Secrets Lambda
	// Extension layer in Region, through which the job reads the database
	// secret. Required when Enabled.
	SecretsExtensionLayerARN string `json:"secretsExtensionLayerArn"`
}

// loadConfig reads and validates the stack's configuration.
func loadConfig(ctx *pulumi.Context) (Config, error) {
	return parseConfig(ctx.Stack(), ctx.GetConfig)
}

// parseConfig builds the Config of stack from raw config values (full
// "namespace:key" → string, as in PULUMI_CONFIG) and validates it. It reports
// every problem at once.
func parseConfig(stack string, get func(key string) (string, bool)) (Config, error) {
	cfg := Config{Stack: stack}
	var errs []error
	str := func(key string) string { v, _ := get(key); return v }
	boolean := func(key string, dst *bool) {
		if v, ok := get(key); ok && v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: want true or false, got %q", key, v))
			}
			*dst = b
		}
	}
	integer := func(key string, dst *int) {
		if v, ok := get(key); ok && v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: want an integer, got %q", key, v))
			}
			*dst = n
		}
	}
	object := func(key string, dst any, required bool) {
		v, ok := get(key)
		if !ok || v == "" {
			if required {
				errs = append(errs, fmt.Errorf("%s is required", key))
			}
			return
		}
		if err := decodeStrict(v, dst); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}

	cfg.Region = str(keyRegion)
	cfg.Commit, cfg.Ref = str(keyCommit), str(keyRef)
	boolean(keyProduction, &cfg.Production)
	boolean(keyEphemeral, &cfg.Ephemeral)
	boolean(keySleeping, &cfg.Sleeping)
	integer(keyPR, &cfg.PR)
	_, hasSlot := get(keySlot)
	cfg.Slot = -1
	if hasSlot {
		integer(keySlot, &cfg.Slot)
	}
	object(keyNetwork, &cfg.Network, true)
	object(keyService, &cfg.Service, true)
	object(keyDatabase, &cfg.Database, true)
	object(keyMonitoring, &cfg.Monitoring, true)
	object(keySeed, &cfg.Seed, false)
	object(keySettings, &cfg.Settings, false)
	object(keyFlags, &cfg.Flags, false)
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("stack %s: invalid configuration:\n%w", stack, err)
	}

	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("stack %s: invalid configuration:\n%w", stack, err)
	}
	return cfg, nil
}

// decodeStrict decodes a JSON object into dst, refusing fields dst does not
// have. Unlike encoding/json alone it also refuses fields that differ from a
// known one only in case ("azcount"), which json would silently accept.
func decodeStrict(raw string, dst any) error {
	if st := reflect.TypeOf(dst).Elem(); st.Kind() == reflect.Struct {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(raw), &fields); err != nil {
			return err
		}
		known := map[string]bool{}
		for i := range st.NumField() {
			name, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
			known[name] = true
		}
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			if !known[name] {
				return fmt.Errorf("unknown field %q", name)
			}
		}
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}

// applyDefaults fills the optional fields that were left out.
func (c *Config) applyDefaults() {
	if c.Service.ContainerPort == 0 {
		c.Service.ContainerPort = 8080
	}
	if c.Service.HealthCheckPath == "" {
		c.Service.HealthCheckPath = "/healthz"
	}
	if c.Database.EngineVersion == "" {
		c.Database.EngineVersion = "16.6"
	}
}

// prStackName matches the stacks the bot creates for pull requests.
var prStackName = regexp.MustCompile(`^pr-([1-9][0-9]{0,7})$`)

// IsPR reports whether the stack is a PR environment.
func (c Config) IsPR() bool { return prStackName.MatchString(c.Stack) }

// Environment is the environment's name: the stack name.
func (c Config) Environment() string { return c.Stack }

// tags are every resource's tags: its name, the environment and, on PR
// stacks, the pull request.
func (c Config) tags(name string) pulumi.StringMap {
	t := pulumi.StringMap{
		"Name":                   pulumi.String(c.Environment() + "-" + name),
		"stagecoach:environment": pulumi.String(c.Environment()),
		"stagecoach:managed-by":  pulumi.String(projectNamespace),
	}
	if c.IsPR() {
		t["stagecoach:pr"] = pulumi.String(strconv.Itoa(c.PR))
	}
	return t
}
