package main

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/servicediscovery"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// containerName is the application container's name in the task definition.
const containerName = "app"

// service is the application: ECS on Fargate behind an application load balancer.
type service struct {
	cluster      *ecs.Cluster
	service      *ecs.Service
	loadBalancer *lb.LoadBalancer
	targetGroup  *lb.TargetGroup
	// url is how to reach the service from the allowed ranges.
	url pulumi.StringOutput
}

// newService declares the service. Its task definition carries no setting or
// flag value, only the parameter store path: flipping a flag never touches it.
func newService(ctx *pulumi.Context, cfg Config, n *network, db *database) (*service, error) {
	s := cfg.Service
	size := cfg.sizing()
	env := cfg.Environment()

	logs, err := cloudwatch.NewLogGroup(ctx, "app", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/stagecoach/" + env + "/app"),
		RetentionInDays: pulumi.Int(s.LogRetentionDays),
		Tags:            cfg.tags("app-logs"),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the service log group: %w", err)
	}

	execRole, err := newRole(ctx, "app-exec", "ecs-tasks.amazonaws.com", cfg,
		[]string{"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"},
		db.secretARN.ApplyT(func(arn string) (string, error) {
			return policyJSON(statement{Action: []string{"secretsmanager:GetSecretValue"}, Resource: []string{arn}})
		}).(pulumi.StringOutput))
	if err != nil {
		return nil, err
	}
	readParameters, err := policyJSON(statement{
		Action:   []string{"ssm:GetParametersByPath", "ssm:GetParameters", "ssm:GetParameter"},
		Resource: []string{fmt.Sprintf("arn:aws:ssm:%s:*:parameter%s*", cfg.Region, cfg.parameterPath())},
	})
	if err != nil {
		return nil, err
	}
	taskRole, err := newRole(ctx, "app-task", "ecs-tasks.amazonaws.com", cfg, nil, pulumi.String(readParameters))
	if err != nil {
		return nil, err
	}

	containers := pulumi.All(db.cluster.Endpoint, db.secretARN, logs.Name).ApplyT(func(v []any) (string, error) {
		endpoint, secret, group := v[0].(string), v[1].(string), v[2].(string)
		return containerDefinitions(cfg, endpoint, secret, group)
	}).(pulumi.StringOutput)
	task, err := ecs.NewTaskDefinition(ctx, "app", &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String("stagecoach-" + env + "-app"),
		Cpu:                     pulumi.String(strconv.Itoa(s.CPU)),
		Memory:                  pulumi.String(strconv.Itoa(s.MemoryMiB)),
		NetworkMode:             pulumi.String("awsvpc"),
		RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
		ExecutionRoleArn:        execRole.Arn,
		TaskRoleArn:             taskRole.Arn,
		ContainerDefinitions:    containers,
		Tags:                    cfg.tags("app"),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the task definition: %w", err)
	}

	out := &service{}
	out.cluster, err = ecs.NewCluster(ctx, "app", &ecs.ClusterArgs{Tags: cfg.tags("app")})
	if err != nil {
		return nil, fmt.Errorf("declaring the ecs cluster: %w", err)
	}
	if err := out.declareLoadBalancer(ctx, cfg, n); err != nil {
		return nil, err
	}
	listeners, err := out.declareListeners(ctx, cfg)
	if err != nil {
		return nil, err
	}

	registry, err := servicediscovery.NewService(ctx, "app", &servicediscovery.ServiceArgs{
		Name:        pulumi.String("app"),
		Description: pulumi.String("the " + env + " service's tasks"),
		DnsConfig: &servicediscovery.ServiceDnsConfigArgs{
			NamespaceId:   n.namespace.ID(),
			RoutingPolicy: pulumi.String("MULTIVALUE"),
			DnsRecords: servicediscovery.ServiceDnsConfigDnsRecordArray{&servicediscovery.ServiceDnsConfigDnsRecordArgs{
				Type: pulumi.String("A"),
				Ttl:  pulumi.Int(10),
			}},
		},
		HealthCheckCustomConfig: &servicediscovery.ServiceHealthCheckCustomConfigArgs{FailureThreshold: pulumi.Int(1)},
		Tags:                    cfg.tags("app-dns"),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the service's dns name: %w", err)
	}

	opts := []pulumi.ResourceOption{pulumi.DependsOn(listeners)}
	if cfg.Autoscaling() {
		// Application Auto Scaling owns the running count between its bounds.
		opts = append(opts, pulumi.IgnoreChanges([]string{"desiredCount"}))
	}
	out.service, err = ecs.NewService(ctx, "app", &ecs.ServiceArgs{
		Cluster:        out.cluster.Arn,
		TaskDefinition: task.Arn,
		LaunchType:     pulumi.String("FARGATE"),
		DesiredCount:   pulumi.Int(size.DesiredCount),
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets:        n.privateSubnets,
			SecurityGroups: pulumi.StringArray{n.appSG.ID()},
			AssignPublicIp: pulumi.Bool(false),
		},
		LoadBalancers: ecs.ServiceLoadBalancerArray{&ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: out.targetGroup.Arn,
			ContainerName:  pulumi.String(containerName),
			ContainerPort:  pulumi.Int(s.ContainerPort),
		}},
		ServiceRegistries: &ecs.ServiceServiceRegistriesArgs{RegistryArn: registry.Arn},
		DeploymentCircuitBreaker: &ecs.ServiceDeploymentCircuitBreakerArgs{
			Enable:   pulumi.Bool(true),
			Rollback: pulumi.Bool(true),
		},
		HealthCheckGracePeriodSeconds: pulumi.Int(60),
		PropagateTags:                 pulumi.String("SERVICE"),
		Tags:                          cfg.tags("app"),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("declaring the ecs service: %w", err)
	}

	if cfg.Autoscaling() {
		if err := out.declareAutoscaling(ctx, cfg, size); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (out *service) declareLoadBalancer(ctx *pulumi.Context, cfg Config, n *network) error {
	var err error
	out.loadBalancer, err = lb.NewLoadBalancer(ctx, "app", &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(false),
		SecurityGroups:           pulumi.StringArray{n.albSG.ID()},
		Subnets:                  n.publicSubnets,
		DropInvalidHeaderFields:  pulumi.Bool(true),
		EnableDeletionProtection: pulumi.Bool(cfg.Production),
		Tags:                     cfg.tags("app"),
	})
	if err != nil {
		return fmt.Errorf("declaring the load balancer: %w", err)
	}
	out.targetGroup, err = lb.NewTargetGroup(ctx, "app", &lb.TargetGroupArgs{
		Port:                pulumi.Int(cfg.Service.ContainerPort),
		Protocol:            pulumi.String("HTTP"),
		TargetType:          pulumi.String("ip"),
		VpcId:               n.vpc.ID(),
		DeregistrationDelay: pulumi.Int(30),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Path:               pulumi.String(cfg.Service.HealthCheckPath),
			Matcher:            pulumi.String("200-399"),
			Interval:           pulumi.Int(15),
			HealthyThreshold:   pulumi.Int(2),
			UnhealthyThreshold: pulumi.Int(3),
		},
		Tags: cfg.tags("app"),
	})
	if err != nil {
		return fmt.Errorf("declaring the target group: %w", err)
	}
	return nil
}

// declareListeners serves HTTPS with a redirect from HTTP when a certificate
// is configured, plain HTTP otherwise.
func (out *service) declareListeners(ctx *pulumi.Context, cfg Config) ([]pulumi.Resource, error) {
	forward := lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
		Type:           pulumi.String("forward"),
		TargetGroupArn: out.targetGroup.Arn,
	}}
	if cfg.Service.CertificateARN == "" {
		listener, err := lb.NewListener(ctx, "http", &lb.ListenerArgs{
			LoadBalancerArn: out.loadBalancer.Arn,
			Port:            pulumi.Int(80),
			Protocol:        pulumi.String("HTTP"),
			DefaultActions:  forward,
			Tags:            cfg.tags("http"),
		})
		if err != nil {
			return nil, fmt.Errorf("declaring the http listener: %w", err)
		}
		out.url = pulumi.Sprintf("http://%s", out.loadBalancer.DnsName)
		return []pulumi.Resource{listener}, nil
	}
	https, err := lb.NewListener(ctx, "https", &lb.ListenerArgs{
		LoadBalancerArn: out.loadBalancer.Arn,
		Port:            pulumi.Int(443),
		Protocol:        pulumi.String("HTTPS"),
		CertificateArn:  pulumi.String(cfg.Service.CertificateARN),
		SslPolicy:       pulumi.String("ELBSecurityPolicy-TLS13-1-2-2021-06"),
		DefaultActions:  forward,
		Tags:            cfg.tags("https"),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the https listener: %w", err)
	}
	redirect, err := lb.NewListener(ctx, "http", &lb.ListenerArgs{
		LoadBalancerArn: out.loadBalancer.Arn,
		Port:            pulumi.Int(80),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: &lb.ListenerDefaultActionRedirectArgs{
				Protocol:   pulumi.String("HTTPS"),
				Port:       pulumi.String("443"),
				StatusCode: pulumi.String("HTTP_301"),
			},
		}},
		Tags: cfg.tags("http"),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the http redirect listener: %w", err)
	}
	out.url = pulumi.Sprintf("https://%s", out.loadBalancer.DnsName)
	return []pulumi.Resource{https, redirect}, nil
}

// declareAutoscaling tracks average CPU between the sizing's bounds.
func (out *service) declareAutoscaling(ctx *pulumi.Context, cfg Config, size sizing) error {
	target, err := appautoscaling.NewTarget(ctx, "app", &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("ecs"),
		ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
		ResourceId:        pulumi.Sprintf("service/%s/%s", out.cluster.Name, out.service.Name),
		MinCapacity:       pulumi.Int(size.MinReplicas),
		MaxCapacity:       pulumi.Int(size.MaxReplicas),
		Tags:              cfg.tags("app-scaling"),
	})
	if err != nil {
		return fmt.Errorf("declaring the scaling target: %w", err)
	}
	_, err = appautoscaling.NewPolicy(ctx, "app-cpu", &appautoscaling.PolicyArgs{
		PolicyType:        pulumi.String("TargetTrackingScaling"),
		ServiceNamespace:  target.ServiceNamespace,
		ScalableDimension: target.ScalableDimension,
		ResourceId:        target.ResourceId,
		TargetTrackingScalingPolicyConfiguration: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
			PredefinedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
				PredefinedMetricType: pulumi.String("ECSServiceAverageCPUUtilization"),
			},
			TargetValue:      pulumi.Float64(float64(cfg.Service.TargetCPUPercent)),
			ScaleInCooldown:  pulumi.Int(300),
			ScaleOutCooldown: pulumi.Int(60),
		},
	})
	if err != nil {
		return fmt.Errorf("declaring the cpu scaling policy: %w", err)
	}
	return nil
}

// containerDefinitions renders the task's single container. Settings and
// flags are not in it: the application reads them from the parameter store.
func containerDefinitions(cfg Config, dbHost, dbSecretARN, logGroup string) (string, error) {
	type kv struct {
		Name  string `json:"name"`
		Value string `json:"value,omitempty"`
		From  string `json:"valueFrom,omitempty"`
	}
	def := []map[string]any{{
		"name":         containerName,
		"image":        cfg.image(),
		"essential":    true,
		"portMappings": []map[string]any{{"containerPort": cfg.Service.ContainerPort, "protocol": "tcp"}},
		"environment": []kv{
			{Name: "STAGECOACH_ENVIRONMENT", Value: cfg.Environment()},
			{Name: "STAGECOACH_PARAMETER_PATH", Value: cfg.parameterPath()},
			{Name: "DB_HOST", Value: dbHost},
			{Name: "DB_PORT", Value: strconv.Itoa(postgresPort)},
			{Name: "DB_NAME", Value: databaseName},
		},
		"secrets": []kv{
			{Name: "DB_USER", From: dbSecretARN + ":username::"},
			{Name: "DB_PASSWORD", From: dbSecretARN + ":password::"},
		},
		"logConfiguration": map[string]any{
			"logDriver": "awslogs",
			"options": map[string]string{
				"awslogs-group":         logGroup,
				"awslogs-region":        cfg.Region,
				"awslogs-stream-prefix": containerName,
			},
		},
	}}
	b, err := json.Marshal(def)
	if err != nil {
		return "", fmt.Errorf("rendering container definitions: %w", err)
	}
	return string(b), nil
}
