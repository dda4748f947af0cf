package main

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Rules that production stacks must satisfy on top of the limits for every stack.
const (
	productionMinAZs         = 3
	productionMinDBInstances = 2
	productionMinBackupDays  = 7
)

// Limits for every stack.
const (
	minAZs         = 2
	maxAZs         = 3
	maxDBInstances = 3
)

var (
	stackNamePattern  = regexp.MustCompile(`^[a-z][a-z0-9-]{1,19}$`)
	regionPattern     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	engineVersionPat  = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
	parameterNamePat  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	layerARNPattern   = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:([a-z0-9-]+):[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$`)
	certificateARNPat = regexp.MustCompile(`^arn:aws[a-z-]*:acm:([a-z0-9-]+):[0-9]{12}:certificate/[A-Za-z0-9-]+$`)
)

// fargateMemory lists the memory sizes (MiB) Fargate accepts for each CPU size.
func fargateMemory(cpu int) []int {
	span := func(from, to int) []int {
		var out []int
		for m := from; m <= to; m += 1024 {
			out = append(out, m)
		}
		return out
	}
	switch cpu {
	case 256:
		return []int{512, 1024, 2048}
	case 512:
		return span(1024, 4096)
	case 1024:
		return span(2048, 8192)
	case 2048:
		return span(4096, 16384)
	case 4096:
		return span(8192, 30720)
	}
	return nil
}

// logRetentionDays are the retention periods CloudWatch Logs accepts.
func logRetentionDays() []int {
	return []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
}

// validate checks every rule and reports all violations at once. Each message
// names the config key to change.
func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	c.validateIdentity(add)

	if !regionPattern.MatchString(c.Region) {
		add("%s: want an AWS region such as eu-west-1, got %q", keyRegion, c.Region)
	}
	c.validateNetwork(add)
	c.validateService(add)
	c.validateDatabase(add)
	c.validateMonitoring(add)
	c.validateSeed(add)
	for name, value := range c.Settings {
		if !parameterNamePat.MatchString(name) {
			add("%s: setting name %q: use letters, digits, '_', '.' and '-' only", keySettings, name)
		}
		if value == "" {
			add("%s: setting %q: the parameter store cannot hold an empty value", keySettings, name)
		}
	}
	for name := range c.Flags {
		if !parameterNamePat.MatchString(name) {
			add("%s: flag name %q: use letters, digits, '_', '.' and '-' only", keyFlags, name)
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// validateIdentity checks what kind of stack this is: production, fixed or PR.
func (c Config) validateIdentity(add func(string, ...any)) {
	if !stackNamePattern.MatchString(c.Stack) {
		add("stack name %q: want 2–20 lowercase letters, digits and '-', starting with a letter (it names AWS resources and the DNS zone)", c.Stack)
	}
	switch {
	case c.Stack == "prod" && !c.Production:
		add("%s: stack prod must set production: true", keyProduction)
	case c.Production && c.Ephemeral:
		add("%s: a production stack cannot be ephemeral", keyEphemeral)
	}
	if c.Production && c.Sleeping {
		add("%s: production stack %s refuses to sleep: unset it or set it to false", keySleeping, c.Stack)
	}

	if c.IsPR() {
		n, _ := strconv.Atoi(strings.TrimPrefix(c.Stack, "pr-"))
		if !c.Ephemeral {
			add("%s: stack %s is a PR stack but not ephemeral: create it from Pulumi.pr.yaml", keyEphemeral, c.Stack)
		}
		if c.PR != n {
			add("%s: stack %s wants pr %d, got %d (the bot sets it with stagecoach:slot)", keyPR, c.Stack, n, c.PR)
		}
		if c.Slot < 0 || c.Slot >= prSlots {
			if c.Slot == -1 {
				add("%s is required on PR stacks: an integer 0–%d that the bot allocates", keySlot, prSlots-1)
			} else {
				add("%s: want an integer 0–%d, got %d", keySlot, prSlots-1, c.Slot)
			}
		}
		return
	}
	if c.Ephemeral {
		add("%s: stack %s is the PR template or a copy of it: the bot deploys it as pr-<n> with %s and %s", keyEphemeral, c.Stack, keyPR, keySlot)
	}
	if c.PR != 0 || c.Slot != -1 {
		add("%s and %s belong to pr-<n> stacks only, and stack %s is not one", keyPR, keySlot, c.Stack)
	}
}

func (c Config) validateNetwork(add func(string, ...any)) {
	n := c.Network
	k := keyNetwork
	if c.IsPR() {
		if n.VPCCIDR != "" {
			add("%s.vpcCidr: PR stacks take their range from %s; remove vpcCidr", k, keySlot)
		}
	} else {
		p, err := netip.ParsePrefix(n.VPCCIDR)
		switch {
		case err != nil:
			add("%s.vpcCidr: want an IPv4 CIDR such as 10.40.0.0/16, got %q", k, n.VPCCIDR)
		case !p.Addr().Is4() || p != p.Masked():
			add("%s.vpcCidr: %s is not a canonical IPv4 network address (did you mean %s?)", k, n.VPCCIDR, p.Masked())
		case p.Bits() < 16 || p.Bits() > 24:
			add("%s.vpcCidr: want a prefix between /16 and /24, got /%d", k, p.Bits())
		case !contains(fixedPool(), p):
			add("%s.vpcCidr: %s is outside the fixed-environment pool %s (PR environments use %s)", k, p, fixedPool(), prPool())
		}
	}
	switch {
	case c.Production && n.AZCount < productionMinAZs:
		add("%s.azCount: production needs %d availability zones, got %d", k, productionMinAZs, n.AZCount)
	case n.AZCount < minAZs:
		add("%s.azCount: want at least %d availability zones (the load balancer and the database need two), got %d", k, minAZs, n.AZCount)
	case n.AZCount > maxAZs:
		add("%s.azCount: at most %d availability zones fit the address plan, got %d", k, maxAZs, n.AZCount)
	}
	switch n.NATGateways {
	case natSingle:
		if c.Production {
			add("%s.natGateways: production needs one NAT gateway per zone (%q)", k, natPerAZ)
		}
	case natPerAZ:
	default:
		add("%s.natGateways: want %q or %q, got %q", k, natSingle, natPerAZ, n.NATGateways)
	}
	if len(n.AllowedCIDRs) == 0 {
		add("%s.allowedCidrs: list the VPN and office ranges that may reach the environment", k)
	}
	for _, s := range n.AllowedCIDRs {
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil || !p.Addr().Is4() || p != p.Masked():
			add("%s.allowedCidrs: %q is not a canonical IPv4 CIDR", k, s)
		case p.Bits() == 0 && !c.Production:
			add("%s.allowedCidrs: %s opens a non-production environment to the internet; list VPN and office ranges", k, s)
		case p.Bits() != 0 && p.Overlaps(environmentSpace()):
			add("%s.allowedCidrs: %s overlaps %s, the environments' address space: it would admit another environment", k, s, environmentSpace())
		}
	}
}

func (c Config) validateService(add func(string, ...any)) {
	s := c.Service
	k := keyService
	c.validateImage(add)
	if mem := fargateMemory(s.CPU); mem == nil {
		add("%s.cpu: want 256, 512, 1024, 2048 or 4096, got %d", k, s.CPU)
	} else if !slices.Contains(mem, s.MemoryMiB) {
		add("%s.memoryMiB: Fargate with %d CPU units takes %v MiB, got %d", k, s.CPU, mem, s.MemoryMiB)
	}
	if s.MinReplicas < 1 {
		add("%s.minReplicas: want at least 1, got %d (sleeping is how an environment scales to zero)", k, s.MinReplicas)
	}
	if c.Production && s.MinReplicas < c.Network.AZCount {
		add("%s.minReplicas: production runs at least one replica per zone (%d), got %d", k, c.Network.AZCount, s.MinReplicas)
	}
	if s.MaxReplicas < s.MinReplicas {
		add("%s.maxReplicas: want at least minReplicas (%d), got %d", k, s.MinReplicas, s.MaxReplicas)
	}
	if c.Production && s.MaxReplicas <= s.MinReplicas {
		add("%s.maxReplicas: production autoscales on load: want more than minReplicas (%d), got %d", k, s.MinReplicas, s.MaxReplicas)
	}
	if s.MaxReplicas > s.MinReplicas && (s.TargetCPUPercent < 10 || s.TargetCPUPercent > 90) {
		add("%s.targetCpuPercent: autoscaling needs a CPU target between 10 and 90, got %d", k, s.TargetCPUPercent)
	}
	if s.ContainerPort < 1 || s.ContainerPort > 65535 {
		add("%s.containerPort: want 1–65535, got %d", k, s.ContainerPort)
	}
	if !strings.HasPrefix(s.HealthCheckPath, "/") {
		add("%s.healthCheckPath: want a path starting with /, got %q", k, s.HealthCheckPath)
	}
	if !slices.Contains(logRetentionDays(), s.LogRetentionDays) {
		add("%s.logRetentionDays: want one of %v, got %d", k, logRetentionDays(), s.LogRetentionDays)
	}
	if s.CertificateARN != "" {
		m := certificateARNPat.FindStringSubmatch(s.CertificateARN)
		if m == nil || m[1] != c.Region {
			add("%s.certificateArn: want an ACM certificate ARN in %s, got %q", k, c.Region, s.CertificateARN)
		}
	}
}

func (c Config) validateDatabase(add func(string, ...any)) {
	d := c.Database
	k := keyDatabase
	if !engineVersionPat.MatchString(d.EngineVersion) {
		add("%s.engineVersion: want major.minor such as 16.6, got %q", k, d.EngineVersion)
	}
	switch {
	case d.Instances < 1 || d.Instances > maxDBInstances:
		add("%s.instances: want 1–%d, got %d", k, maxDBInstances, d.Instances)
	case c.Production && d.Instances < productionMinDBInstances:
		add("%s.instances: production runs a multi-AZ cluster of at least %d instances, got %d", k, productionMinDBInstances, d.Instances)
	}
	if !validACU(d.MinCapacityACU) || d.MinCapacityACU < 0.5 {
		add("%s.minCapacityAcu: want 0.5–256 in steps of 0.5, got %v (sleeping is how a database pauses)", k, d.MinCapacityACU)
	}
	if !validACU(d.MaxCapacityACU) || d.MaxCapacityACU < max(1, d.MinCapacityACU) {
		add("%s.maxCapacityAcu: want at least 1 and at least minCapacityAcu, up to 256 in steps of 0.5, got %v", k, d.MaxCapacityACU)
	}
	switch {
	case d.BackupRetentionDays < 1 || d.BackupRetentionDays > 35:
		add("%s.backupRetentionDays: want 1–35, got %d", k, d.BackupRetentionDays)
	case c.Production && d.BackupRetentionDays < productionMinBackupDays:
		add("%s.backupRetentionDays: production keeps at least %d days of backups, got %d", k, productionMinBackupDays, d.BackupRetentionDays)
	}
	if c.Production && !d.DeletionProtection {
		add("%s.deletionProtection: production databases must be protected from deletion", k)
	}
}

func validACU(v float64) bool {
	return v >= 0 && v <= 256 && math.Mod(v*2, 1) == 0
}

func (c Config) validateMonitoring(add func(string, ...any)) {
	m := c.Monitoring
	k := keyMonitoring
	if c.Production && !m.Notify {
		add("%s.notify: production alarms must notify the alarm topic", k)
	}
	for _, e := range m.AlarmEmails {
		if !strings.Contains(e, "@") {
			add("%s.alarmEmails: %q is not an email address", k, e)
		}
	}
	if m.EvaluationMinutes < 1 || m.EvaluationMinutes > 60 {
		add("%s.evaluationMinutes: want 1–60, got %d", k, m.EvaluationMinutes)
	}
	percent := func(name string, v float64) {
		if v <= 0 || v > 100 {
			add("%s.%s: want a threshold in (0, 100], got %v", k, name, v)
		}
	}
	positive := func(name string, v float64) {
		if v <= 0 {
			add("%s.%s: want a threshold above 0, got %v", k, name, v)
		}
	}
	percent("cpuHighPercent", m.CPUHighPercent)
	percent("memoryHighPercent", m.MemoryHighPercent)
	percent("dbCpuHighPercent", m.DBCPUHighPercent)
	positive("http5xxPerMinute", m.HTTP5xxPerMinute)
	positive("latencyP99Seconds", m.LatencyP99Seconds)
}

func (c Config) validateSeed(add func(string, ...any)) {
	s := c.Seed
	k := keySeed
	if !s.Enabled {
		return
	}
	if c.Production {
		add("%s.enabled: sample data is never loaded into production", k)
	}
	m := layerARNPattern.FindStringSubmatch(s.SecretsExtensionLayerARN)
	if m == nil || m[1] != c.Region || !strings.Contains(s.SecretsExtensionLayerARN, "Arm64") {
		add("%s.secretsExtensionLayerArn: want the arm64 AWS Parameters and Secrets Lambda Extension layer ARN in %s, got %q",
			k, c.Region, s.SecretsExtensionLayerARN)
	}
}

// fullSHA is a commit's full SHA, as the bot sets stagecoach:commit.
var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

func (c Config) validateImage(add func(string, ...any)) {
	s, k := c.Service, keyService
	switch {
	case s.Image == "" && s.ImageRepository == "":
		add("%s: set imageRepository (the image CI builds, tagged with the commit's SHA) or image (a pinned reference)", k)
	case s.Image != "" && s.ImageRepository != "":
		add("%s: set imageRepository or image, not both: the image is either the deployed commit's build or pinned", k)
	case s.Image != "":
		if strings.ContainsAny(s.Image, " \t\n") {
			add("%s.image: want a container image reference, got %q", k, s.Image)
		}
	default:
		last := s.ImageRepository[strings.LastIndex(s.ImageRepository, "/")+1:]
		if strings.ContainsAny(s.ImageRepository, " \t\n@") || strings.Contains(last, ":") {
			add("%s.imageRepository: want a repository without tag or digest (the commit is the tag), got %q", k, s.ImageRepository)
		}
		if !fullSHA.MatchString(c.Commit) {
			add("%s.imageRepository: the image's tag is the deployed commit, but %s is %q, not a full SHA; stagecoach sets it on "+
				"every deploy (for a manual run: pulumi config set %s $(git rev-parse HEAD))", k, keyCommit, c.Commit, keyCommit)
		}
	}
}

// image is the service's image: the deployed commit's build, or the pinned reference.
func (c Config) image() string {
	if c.Service.Image != "" {
		return c.Service.Image
	}
	return c.Service.ImageRepository + ":" + c.Commit
}
