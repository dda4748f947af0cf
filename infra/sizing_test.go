package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The sizing table in README.md sits between these markers. TestSizingTable
// recomputes every cell from the resources each stack file declares.
const (
	sizingBegin = "<!-- sizing-table:begin -->"
	sizingEnd   = "<!-- sizing-table:end -->"
)

// readSizingTable parses the README's sizing table into column → row → cell.
func readSizingTable(t *testing.T) (columns []string, rows []string, cells map[string]map[string]string) {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), sizingBegin)
	table, _, ok2 := strings.Cut(rest, sizingEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md has no sizing table between %s and %s", sizingBegin, sizingEnd)
	}
	cells = map[string]map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(table), "\n") {
		parts := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for j := range parts {
			parts[j] = strings.TrimSpace(parts[j])
		}
		switch {
		case i == 0:
			columns = parts[1:]
			for _, c := range columns {
				cells[c] = map[string]string{}
			}
		case i == 1: // the |---| separator
		default:
			if len(parts) != len(columns)+1 {
				t.Fatalf("README sizing row %q has %d cells, want %d", line, len(parts)-1, len(columns))
			}
			rows = append(rows, parts[0])
			for j, c := range columns {
				cells[c][parts[0]] = parts[j+1]
			}
		}
	}
	return columns, rows, cells
}

// sizingRows describes a deployment in the README table's terms.
func sizingRows(t *testing.T, stack string, values map[string]string, d *deployment) map[string]string {
	t.Helper()
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	zones := map[string]bool{}
	for _, s := range d.all("aws:ec2/subnet:Subnet") {
		zones[s.Inputs["availabilityZone"].(string)] = true
	}
	task := d.one(t, "aws:ecs/taskDefinition:TaskDefinition", "app")
	svc := d.one(t, "aws:ecs/service:Service", "app")
	replicas := fmt.Sprintf("%v–%v", svc.Inputs["desiredCount"], svc.Inputs["desiredCount"])
	autoscaling := "off"
	if targets := d.all("aws:appautoscaling/target:Target"); len(targets) == 1 {
		replicas = fmt.Sprintf("%v–%v", targets[0].Inputs["minCapacity"], targets[0].Inputs["maxCapacity"])
		policy := d.one(t, "aws:appautoscaling/policy:Policy", "app-cpu")
		autoscaling = fmt.Sprintf("CPU %v%%", field(policy.Inputs, "targetTrackingScalingPolicyConfiguration", "targetValue"))
	}
	cluster := d.one(t, "aws:rds/cluster:Cluster", "db")
	scaling := field(cluster.Inputs, "serverlessv2ScalingConfiguration")
	ingress := "VPN/office"
	for _, rule := range d.one(t, "aws:ec2/securityGroup:SecurityGroup", "alb").Inputs["ingress"].([]any) {
		if slices.Contains(strs(rule.(map[string]any)["cidrBlocks"]), "0.0.0.0/0") {
			ingress = "internet"
		}
	}
	notify := false
	for _, a := range d.all("aws:cloudwatch/metricAlarm:MetricAlarm") {
		notify = notify || len(strs(a.Inputs["alarmActions"])) > 0
	}
	_, sleepErr := deploy(t, stack, withValues(values, map[string]string{keySleeping: "true"}))
	sleep := "to zero"
	if sleepErr != nil {
		sleep = "refused"
	}
	return map[string]string{
		"Availability zones":           strconv.Itoa(len(zones)),
		"NAT gateways":                 strconv.Itoa(len(d.all("aws:ec2/natGateway:NatGateway"))),
		"Load balancer reachable from": ingress,
		"Task CPU (units)":             task.Inputs["cpu"].(string),
		"Task memory (MiB)":            task.Inputs["memory"].(string),
		"Replicas (min–max)":           replicas,
		"Autoscaling target":           autoscaling,
		"Database instances":           strconv.Itoa(len(d.all("aws:rds/clusterInstance:ClusterInstance"))),
		"Database capacity (ACU)":      fmt.Sprintf("%v–%v", field(scaling.(map[string]any), "minCapacity"), field(scaling.(map[string]any), "maxCapacity")),
		"Backup retention (days)":      fmt.Sprint(cluster.Inputs["backupRetentionPeriod"]),
		"Deletion protection":          yesNo(cluster.Inputs["deletionProtection"] == true),
		"Log retention (days)":         fmt.Sprint(d.one(t, "aws:cloudwatch/logGroup:LogGroup", "app").Inputs["retentionInDays"]),
		"Alarms notify a topic":        yesNo(notify),
		"Seed job":                     yesNo(len(d.all("aws:lambda/invocation:Invocation")) == 1),
		"Sleeping":                     sleep,
	}
}

// stackOfColumn maps a README column to its stack file.
func stackOfColumn(column string) string {
	if column == "pr-<n>" {
		return "pr"
	}
	return column
}

func TestSizingTable(t *testing.T) {
	t.Parallel()
	columns, rows, cells := readSizingTable(t)
	var files []string
	for _, c := range columns {
		files = append(files, stackOfColumn(c))
	}
	if got, want := slices.Sorted(slices.Values(files)), committedStacks(t); !slices.Equal(got, want) {
		t.Fatalf("README sizing columns cover stacks %v, the repo has %v", got, want)
	}

	computed := map[string]map[string]string{}
	for _, c := range columns {
		stack, values := deployable(t, stackOfColumn(c))
		computed[c] = sizingRows(t, stack, values, mustDeploy(t, stack, values))
	}

	t.Run("every cell matches what the stack file declares", func(t *testing.T) {
		for _, c := range columns {
			if len(rows) != len(computed[c]) {
				t.Errorf("README has rows %q, the test computes %d", rows, len(computed[c]))
			}
			for _, row := range rows {
				want, ok := computed[c][row]
				switch {
				case !ok:
					t.Errorf("README row %q is not computed by the test", row)
				case cells[c][row] != want:
					t.Errorf("%s / %s: README says %q, Pulumi.%s.yaml declares %q", c, row, cells[c][row], stackOfColumn(c), want)
				}
			}
		}
	})

	t.Run("dev is the smallest and prod the largest", func(t *testing.T) {
		upper := func(cell string) float64 {
			_, hi, _ := strings.Cut(cell, "–")
			if hi == "" {
				hi = cell
			}
			f, err := strconv.ParseFloat(hi, 64)
			if err != nil {
				t.Fatalf("cell %q is not a number or range", cell)
			}
			return f
		}
		for _, row := range []string{"Task CPU (units)", "Task memory (MiB)", "Replicas (min–max)", "Database capacity (ACU)", "Backup retention (days)"} {
			dev, staging, prod := upper(computed["dev"][row]), upper(computed["staging"][row]), upper(computed["prod"][row])
			if dev > staging || staging >= prod {
				t.Errorf("%s: dev %v, staging %v, prod %v; want dev ≤ staging < prod", row, dev, staging, prod)
			}
		}
	})

	t.Run("staging has production's shape", func(t *testing.T) {
		for _, row := range []string{"Availability zones", "NAT gateways", "Database instances"} {
			if computed["staging"][row] != computed["prod"][row] {
				t.Errorf("%s: staging %s, prod %s", row, computed["staging"][row], computed["prod"][row])
			}
		}
		if computed["staging"]["Autoscaling target"] == "off" {
			t.Error("staging does not autoscale like prod")
		}
	})
}
