package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// alarm is one CloudWatch alarm on a one-minute metric.
type alarm struct {
	name        string
	description string
	namespace   string
	metric      string
	statistic   string // Average or Sum
	extended    string // a percentile such as p99, instead of statistic
	dimensions  pulumi.StringMap
	threshold   float64
}

// newMonitoring declares the environment's alarms, with thresholds from
// stagecoach-infra:monitoring. When monitoring.notify is set (always in
// production) alarms and recoveries go to the environment's SNS topic.
// Missing data never breaches: a sleeping environment stays quiet.
func newMonitoring(ctx *pulumi.Context, cfg Config, svc *service, db *database) error {
	m := cfg.Monitoring
	var actions pulumi.Array
	if m.Notify {
		topic, err := sns.NewTopic(ctx, "alarms", &sns.TopicArgs{Tags: cfg.tags("alarms")})
		if err != nil {
			return fmt.Errorf("declaring the alarm topic: %w", err)
		}
		for i, email := range m.AlarmEmails {
			if _, err := sns.NewTopicSubscription(ctx, fmt.Sprintf("alarms-%d", i), &sns.TopicSubscriptionArgs{
				Topic:    topic.Arn,
				Protocol: pulumi.String("email"),
				Endpoint: pulumi.String(email),
			}); err != nil {
				return fmt.Errorf("subscribing %s to the alarm topic: %w", email, err)
			}
		}
		actions = pulumi.Array{topic.Arn}
	}

	serviceDims := pulumi.StringMap{"ClusterName": svc.cluster.Name, "ServiceName": svc.service.Name}
	lbDims := pulumi.StringMap{"LoadBalancer": svc.loadBalancer.ArnSuffix, "TargetGroup": svc.targetGroup.ArnSuffix}
	alarms := []alarm{
		{name: "app-cpu-high", description: "service CPU above monitoring.cpuHighPercent",
			namespace: "AWS/ECS", metric: "CPUUtilization", statistic: "Average", dimensions: serviceDims, threshold: m.CPUHighPercent},
		{name: "app-memory-high", description: "service memory above monitoring.memoryHighPercent",
			namespace: "AWS/ECS", metric: "MemoryUtilization", statistic: "Average", dimensions: serviceDims, threshold: m.MemoryHighPercent},
		{name: "app-5xx", description: "target 5xx responses per minute above monitoring.http5xxPerMinute",
			namespace: "AWS/ApplicationELB", metric: "HTTPCode_Target_5XX_Count", statistic: "Sum", dimensions: lbDims, threshold: m.HTTP5xxPerMinute},
		{name: "app-latency-p99", description: "p99 target response time above monitoring.latencyP99Seconds",
			namespace: "AWS/ApplicationELB", metric: "TargetResponseTime", extended: "p99", dimensions: lbDims, threshold: m.LatencyP99Seconds},
		{name: "db-cpu-high", description: "database CPU above monitoring.dbCpuHighPercent",
			namespace: "AWS/RDS", metric: "CPUUtilization", statistic: "Average",
			dimensions: pulumi.StringMap{"DBClusterIdentifier": db.cluster.ClusterIdentifier}, threshold: m.DBCPUHighPercent},
	}
	for _, a := range alarms {
		args := &cloudwatch.MetricAlarmArgs{
			AlarmDescription:   pulumi.String(a.description + " in " + cfg.Environment()),
			Namespace:          pulumi.String(a.namespace),
			MetricName:         pulumi.String(a.metric),
			Dimensions:         a.dimensions,
			Period:             pulumi.Int(60),
			EvaluationPeriods:  pulumi.Int(m.EvaluationMinutes),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			Threshold:          pulumi.Float64(a.threshold),
			TreatMissingData:   pulumi.String("notBreaching"),
			Tags:               cfg.tags(a.name),
		}
		if m.Notify {
			args.AlarmActions, args.OkActions = actions, actions
		}
		if a.extended != "" {
			args.ExtendedStatistic = pulumi.String(a.extended)
		} else {
			args.Statistic = pulumi.String(a.statistic)
		}
		if _, err := cloudwatch.NewMetricAlarm(ctx, a.name, args); err != nil {
			return fmt.Errorf("declaring alarm %s: %w", a.name, err)
		}
	}
	return nil
}
