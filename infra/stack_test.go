package main

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// forbiddenTypes are resource types (or type prefixes) that would connect an
// environment to another network or share it: none may ever be declared.
func forbiddenTypes() []string {
	return []string{
		"aws:ec2/vpcPeeringConnection", "aws:ec2/vpcPeeringConnectionAccepter", "aws:ec2/peeringConnectionOptions",
		"aws:ec2transitgateway/", "aws:ram/", "aws:ec2/vpcIpv4CidrBlockAssociation", "aws:ec2/vpnConnection",
		"aws:ec2/vpnGateway", "aws:ec2/customerGateway", "aws:directconnect/", "aws:networkmanager/",
		"aws:route53/zoneAssociation", "aws:route53/vpcAssociationAuthorization", "aws:vpclattice/",
		"aws:ec2/vpcEndpointService", "aws:ec2clientvpn/",
		// Standalone rules would escape the inline-rule checks below.
		"aws:ec2/securityGroupRule", "aws:vpc/securityGroupIngressRule", "aws:vpc/securityGroupEgressRule",
	}
}

// TestEnvironments checks every committed stack file's environment, as the
// program declares it, against the rules of issue 5.
func TestEnvironments(t *testing.T) {
	t.Parallel()
	allRanges := environmentRanges(t)
	for _, file := range committedStacks(t) {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			stack, values := deployable(t, file)
			cfg, err := parse(stack, values)
			if err != nil {
				t.Fatal(err)
			}
			d := mustDeploy(t, stack, values)
			vpc, cidr := vpcRange(t, d)
			others := map[string]netip.Prefix{}
			for name, p := range allRanges {
				if p != cidr {
					others[name] = p
				}
			}
			if len(others) != len(allRanges)-1 {
				t.Fatalf("stack %s's range %s is not exactly one of the plan's ranges", stack, cidr)
			}

			t.Run("is alone in its own VPC", func(t *testing.T) { checkIsolation(t, cfg, d, vpc, cidr) })
			t.Run("admits nothing from another environment's range", func(t *testing.T) { checkSecurityGroups(t, cfg, d, others) })
			t.Run("resolves names in its own private zone only", func(t *testing.T) { checkDNS(t, cfg, d, vpc) })
			t.Run("alarms use the configured thresholds", func(t *testing.T) { checkAlarms(t, cfg, d) })
			t.Run("seeds only outside production", func(t *testing.T) { checkSeeding(t, cfg, d) })
			if cfg.Production {
				t.Run("production is multi-AZ, protected and autoscaled", func(t *testing.T) { checkProduction(t, cfg, d) })
			}
		})
	}
}

func checkIsolation(t *testing.T, cfg Config, d *deployment, vpc recorded, cidr netip.Prefix) {
	if cidr != cfg.vpcCIDR() {
		t.Errorf("VPC range %s, want %s", cidr, cfg.vpcCIDR())
	}
	for key, r := range d.resources() {
		for _, f := range forbiddenTypes() {
			if strings.HasPrefix(r.Type, f) {
				t.Errorf("declares %s, which connects or shares networks", key)
			}
		}
		if id, ok := r.Inputs["vpcId"]; ok && id != vpc.ID {
			t.Errorf("%s is in VPC %v, not the environment's %s", key, id, vpc.ID)
		}
	}

	subnets := d.all("aws:ec2/subnet:Subnet")
	if len(subnets) != 2*cfg.Network.AZCount {
		t.Errorf("%d subnets, want a public and a private one in each of %d zones", len(subnets), cfg.Network.AZCount)
	}
	var prefixes []netip.Prefix
	for _, s := range subnets {
		p := netip.MustParsePrefix(s.Inputs["cidrBlock"].(string))
		if !contains(cidr, p) {
			t.Errorf("subnet %s (%s) is outside the VPC %s", s.Name, p, cidr)
		}
		for _, q := range prefixes {
			if p.Overlaps(q) {
				t.Errorf("subnet %s (%s) overlaps %s", s.Name, p, q)
			}
		}
		prefixes = append(prefixes, p)
	}

	targets := map[string]bool{}
	for _, typ := range []string{"aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway"} {
		for _, r := range d.all(typ) {
			targets[r.ID] = true
		}
	}
	tables := d.all("aws:ec2/routeTable:RouteTable")
	if len(tables) != 1+cfg.Network.AZCount {
		t.Errorf("%d route tables, want one public and one private per zone", len(tables))
	}
	for _, rt := range tables {
		routes, _ := rt.Inputs["routes"].([]any)
		for _, route := range routes {
			r := route.(map[string]any)
			for k, v := range r {
				switch k {
				case "cidrBlock":
					if v != "0.0.0.0/0" {
						t.Errorf("route table %s routes %v somewhere other than the internet", rt.Name, v)
					}
				case "gatewayId", "natGatewayId":
					if !targets[v.(string)] {
						t.Errorf("route table %s sends traffic to %v, not this VPC's own gateway", rt.Name, v)
					}
				default:
					t.Errorf("route table %s has a %s route: only the internet gateway and NAT are allowed", rt.Name, k)
				}
			}
		}
	}
	if got := len(d.all("aws:ec2/routeTableAssociation:RouteTableAssociation")); got != len(subnets) {
		t.Errorf("%d route table associations for %d subnets", got, len(subnets))
	}
}

func checkSecurityGroups(t *testing.T, cfg Config, d *deployment, others map[string]netip.Prefix) {
	groups := d.all("aws:ec2/securityGroup:SecurityGroup")
	ids := map[string]bool{}
	for _, sg := range groups {
		ids[sg.ID] = true
	}
	for _, sg := range groups {
		rules, _ := sg.Inputs["ingress"].([]any)
		for _, rule := range rules {
			r := rule.(map[string]any)
			if len(strs(r["ipv6CidrBlocks"])) > 0 || len(strs(r["prefixListIds"])) > 0 {
				t.Errorf("group %s admits IPv6 ranges or prefix lists, which the plan does not cover", sg.Name)
			}
			for _, ref := range strs(r["securityGroups"]) {
				if !ids[ref] {
					t.Errorf("group %s admits group %s, which is not this environment's", sg.Name, ref)
				}
			}
			for _, c := range strs(r["cidrBlocks"]) {
				p := netip.MustParsePrefix(c)
				if p.Bits() == 0 {
					if !cfg.Production || sg.Name != "alb" {
						t.Errorf("group %s admits the whole internet outside a production load balancer", sg.Name)
					}
					continue
				}
				for name, o := range others {
					if p.Overlaps(o) {
						t.Errorf("group %s admits %s, which overlaps %s (%s)", sg.Name, p, name, o)
					}
				}
			}
		}
	}
	alb := d.one(t, "aws:ec2/securityGroup:SecurityGroup", "alb")
	var admitted []string
	for _, rule := range alb.Inputs["ingress"].([]any) {
		admitted = append(admitted, strs(rule.(map[string]any)["cidrBlocks"])...)
	}
	for _, c := range admitted {
		if !slices.Contains(cfg.Network.AllowedCIDRs, c) {
			t.Errorf("the load balancer admits %s, which is not in network.allowedCidrs", c)
		}
	}
}

func checkDNS(t *testing.T, cfg Config, d *deployment, vpc recorded) {
	zones := d.all("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
	if len(zones) != 1 {
		t.Fatalf("%d private DNS namespaces, want 1", len(zones))
	}
	ns := zones[0]
	if ns.Inputs["name"] != cfg.Environment()+".stagecoach.internal" || ns.Inputs["vpc"] != vpc.ID {
		t.Errorf("namespace %v in VPC %v, want %s.stagecoach.internal in %s", ns.Inputs["name"], ns.Inputs["vpc"], cfg.Environment(), vpc.ID)
	}
	for _, typ := range []string{"aws:route53/zone:Zone", "aws:servicediscovery/publicDnsNamespace:PublicDnsNamespace", "aws:servicediscovery/httpNamespace:HttpNamespace"} {
		if n := len(d.all(typ)); n > 0 {
			t.Errorf("declares %d %s: names must live in the environment's private namespace only", n, typ)
		}
	}
	for _, svc := range d.all("aws:servicediscovery/service:Service") {
		if field(svc.Inputs, "dnsConfig", "namespaceId") != ns.ID {
			t.Errorf("service name %s is outside the environment's namespace", svc.Name)
		}
	}
}

func checkAlarms(t *testing.T, cfg Config, d *deployment) {
	m := cfg.Monitoring
	want := map[string]float64{
		"app-cpu-high": m.CPUHighPercent, "app-memory-high": m.MemoryHighPercent, "app-5xx": m.HTTP5xxPerMinute,
		"app-latency-p99": m.LatencyP99Seconds, "db-cpu-high": m.DBCPUHighPercent,
	}
	alarms := d.all("aws:cloudwatch/metricAlarm:MetricAlarm")
	if len(alarms) != len(want) {
		t.Errorf("%d alarms, want %d", len(alarms), len(want))
	}
	var topics []string
	for _, topic := range d.all("aws:sns/topic:Topic") {
		topics = append(topics, "arn:aws:mock:"+cfg.Region+":123456789012:Topic/"+topic.Name)
	}
	for _, a := range alarms {
		if got := num(a.Inputs["threshold"]); got != want[a.Name] {
			t.Errorf("alarm %s threshold %v, want %v from %s", a.Name, got, want[a.Name], keyMonitoring)
		}
		if got := num(a.Inputs["evaluationPeriods"]); got != float64(m.EvaluationMinutes) {
			t.Errorf("alarm %s evaluates %v periods, want %d", a.Name, got, m.EvaluationMinutes)
		}
		actions := strs(a.Inputs["alarmActions"])
		switch {
		case m.Notify && (len(actions) != 1 || !slices.Equal(actions, topics)):
			t.Errorf("alarm %s notifies %v, want the environment's topic %v", a.Name, actions, topics)
		case !m.Notify && len(actions) > 0:
			t.Errorf("alarm %s notifies %v although monitoring.notify is off", a.Name, actions)
		}
	}
}

func checkSeeding(t *testing.T, cfg Config, d *deployment) {
	fns := d.all("aws:lambda/function:Function")
	invocations := d.all("aws:lambda/invocation:Invocation")
	if cfg.Production {
		if len(fns)+len(invocations) > 0 {
			t.Errorf("production declares %d functions and %d invocations; seeding must never reach it", len(fns), len(invocations))
		}
		for key, r := range d.resources() {
			if r.Name == "seed" || strings.HasPrefix(r.Name, "seed-") {
				t.Errorf("production declares %s, part of the seed job", key)
			}
		}
		return
	}
	if len(fns) != 1 || len(invocations) != 1 {
		t.Fatalf("%d seed functions and %d invocations, want one of each", len(fns), len(invocations))
	}
	fn, inv := fns[0], invocations[0]
	if fn.Inputs["runtime"] != "provided.al2023" || fn.Inputs["handler"] != "bootstrap" || !slices.Equal(strs(fn.Inputs["architectures"]), []string{"arm64"}) {
		t.Errorf("seed function runs %v/%v on %v, want the provided.al2023 bootstrap on arm64",
			fn.Inputs["runtime"], fn.Inputs["handler"], fn.Inputs["architectures"])
	}
	if got := strs(field(fn.Inputs, "vpcConfig", "securityGroupIds")); !slices.Equal(got, []string{"seed.SecurityGroup"}) {
		t.Errorf("seed function runs in groups %v, want the seed group", got)
	}
	if got := field(fn.Inputs, "environment", "variables", "STAGECOACH_ENVIRONMENT"); got != cfg.Environment() {
		t.Errorf("seed function targets environment %v, want %s", got, cfg.Environment())
	}
	version, err := goSeedBuild{dir: "seed"}.SchemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]string
	if err := json.Unmarshal([]byte(inv.Inputs["input"].(string)), &payload); err != nil || payload["schemaVersion"] != version {
		t.Errorf("invocation input %v, want schemaVersion %s", inv.Inputs["input"], version)
	}
	if field(inv.Inputs, "triggers", "schemaVersion") != version {
		t.Errorf("invocation triggers %v do not carry the schema version", inv.Inputs["triggers"])
	}
	for _, inst := range d.all("aws:rds/clusterInstance:ClusterInstance") {
		if !slices.ContainsFunc(inv.Deps, func(u string) bool { return strings.HasSuffix(u, "::"+inst.Type+"::"+inst.Name) }) {
			t.Errorf("the seed invocation does not wait for database instance %s", inst.Name)
		}
	}
}

func checkProduction(t *testing.T, cfg Config, d *deployment) {
	cluster := d.one(t, "aws:rds/cluster:Cluster", "db")
	if cluster.Inputs["deletionProtection"] != true || cluster.Inputs["skipFinalSnapshot"] != false {
		t.Errorf("database deletionProtection %v, skipFinalSnapshot %v; want protected with a final snapshot",
			cluster.Inputs["deletionProtection"], cluster.Inputs["skipFinalSnapshot"])
	}
	if days := num(cluster.Inputs["backupRetentionPeriod"]); days < productionMinBackupDays {
		t.Errorf("backups kept %v days, want at least %d", days, productionMinBackupDays)
	}
	zones := map[string]bool{}
	for _, inst := range d.all("aws:rds/clusterInstance:ClusterInstance") {
		zones[inst.Inputs["availabilityZone"].(string)] = true
	}
	if len(zones) < productionMinDBInstances {
		t.Errorf("database instances span %d zones, want a multi-AZ cluster", len(zones))
	}
	subnetZones := map[string]bool{}
	for _, s := range d.all("aws:ec2/subnet:Subnet") {
		subnetZones[s.Inputs["availabilityZone"].(string)] = true
	}
	if len(subnetZones) < productionMinAZs {
		t.Errorf("subnets span %d zones, want %d", len(subnetZones), productionMinAZs)
	}

	targets := d.all("aws:appautoscaling/target:Target")
	policies := d.all("aws:appautoscaling/policy:Policy")
	if len(targets) != 1 || len(policies) != 1 {
		t.Fatalf("%d scaling targets and %d policies, want autoscaling on load", len(targets), len(policies))
	}
	if lo, hi := num(targets[0].Inputs["minCapacity"]), num(targets[0].Inputs["maxCapacity"]); lo < float64(cfg.Network.AZCount) || hi <= lo {
		t.Errorf("scaling between %v and %v replicas, want at least one per zone and room to grow", lo, hi)
	}
	if m := field(policies[0].Inputs, "targetTrackingScalingPolicyConfiguration", "predefinedMetricSpecification", "predefinedMetricType"); m != "ECSServiceAverageCPUUtilization" {
		t.Errorf("scaling policy tracks %v, want CPU load", m)
	}
	if svc := d.one(t, "aws:ecs/service:Service", "app"); !slices.Contains(svc.IgnoreChanges, "desiredCount") {
		t.Error("the service resets desiredCount on every deploy, fighting the autoscaler")
	}

	nats := map[string]bool{}
	for _, rt := range d.all("aws:ec2/routeTable:RouteTable") {
		if id, ok := field(rt.Inputs, "routes").([]any)[0].(map[string]any)["natGatewayId"].(string); ok {
			nats[id] = true
		}
	}
	if len(nats) != cfg.Network.AZCount {
		t.Errorf("private route tables use %d NAT gateways, want one per zone (%d)", len(nats), cfg.Network.AZCount)
	}
	if d.one(t, "aws:lb/loadBalancer:LoadBalancer", "app").Inputs["enableDeletionProtection"] != true {
		t.Error("the production load balancer is not protected from deletion")
	}
}

func TestHTTPSListener(t *testing.T) {
	t.Parallel()
	stack, values := deployable(t, "prod")
	const cert = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	d := mustDeploy(t, stack, withObjectField(t, values, keyService, "certificateArn", cert))
	https := d.one(t, "aws:lb/listener:Listener", "https")
	if https.Inputs["certificateArn"] != cert || num(https.Inputs["port"]) != 443 {
		t.Errorf("https listener = %v", https.Inputs)
	}
	http := d.one(t, "aws:lb/listener:Listener", "http")
	if field(http.Inputs["defaultActions"].([]any)[0].(map[string]any), "redirect", "protocol") != "HTTPS" {
		t.Errorf("port 80 does not redirect to HTTPS: %v", http.Inputs["defaultActions"])
	}
}
