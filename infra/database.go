package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/servicediscovery"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Database constants that are the same in every environment.
const (
	postgresPort   = 5432
	databaseName   = "app"
	masterUsername = "stagecoach"
	auroraEngine   = "aurora-postgresql"
)

// database is the environment's Aurora PostgreSQL Serverless v2 cluster.
type database struct {
	cluster *rds.Cluster
	// instances are the cluster's instances; the first is the writer.
	instances []*rds.ClusterInstance
	// secretARN is the Secrets Manager secret RDS manages for the master
	// user ({"username":…, "password":…}).
	secretARN pulumi.StringOutput
}

// newDatabase declares the cluster in the network's private subnets, and a
// db.<zone> CNAME to its writer in the environment's DNS namespace.
func newDatabase(ctx *pulumi.Context, cfg Config, n *network) (*database, error) {
	size := cfg.sizing()
	d := cfg.Database

	subnets, err := rds.NewSubnetGroup(ctx, "db", &rds.SubnetGroupArgs{
		SubnetIds:   n.privateSubnets,
		Description: pulumi.String("private subnets of " + cfg.Environment()),
		Tags:        cfg.tags("db"),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the db subnet group: %w", err)
	}

	scaling := &rds.ClusterServerlessv2ScalingConfigurationArgs{
		MinCapacity: pulumi.Float64(size.MinACU),
		MaxCapacity: pulumi.Float64(size.MaxACU),
	}
	if size.AutoPauseSeconds > 0 {
		scaling.SecondsUntilAutoPause = pulumi.IntPtr(size.AutoPauseSeconds)
	}
	args := &rds.ClusterArgs{
		Engine:                           pulumi.String(auroraEngine),
		EngineMode:                       pulumi.String("provisioned"),
		EngineVersion:                    pulumi.String(d.EngineVersion),
		DatabaseName:                     pulumi.String(databaseName),
		MasterUsername:                   pulumi.String(masterUsername),
		ManageMasterUserPassword:         pulumi.Bool(true),
		DbSubnetGroupName:                subnets.Name,
		VpcSecurityGroupIds:              pulumi.StringArray{n.dbSG.ID()},
		Port:                             pulumi.Int(postgresPort),
		StorageEncrypted:                 pulumi.Bool(true),
		Serverlessv2ScalingConfiguration: scaling,
		BackupRetentionPeriod:            pulumi.Int(d.BackupRetentionDays),
		PreferredBackupWindow:            pulumi.String("02:00-03:00"),
		PreferredMaintenanceWindow:       pulumi.String("sun:03:30-sun:04:30"),
		DeletionProtection:               pulumi.Bool(d.DeletionProtection),
		CopyTagsToSnapshot:               pulumi.Bool(true),
		EnabledCloudwatchLogsExports:     pulumi.StringArray{pulumi.String("postgresql")},
		// Outside production, sleep and wake apply now rather than in the
		// maintenance window.
		ApplyImmediately:  pulumi.Bool(!cfg.Production),
		SkipFinalSnapshot: pulumi.Bool(!cfg.Production),
		Tags:              cfg.tags("db"),
	}
	if cfg.Production {
		args.FinalSnapshotIdentifier = pulumi.String(cfg.Environment() + "-db-final")
	}
	cluster, err := rds.NewCluster(ctx, "db", args)
	if err != nil {
		return nil, fmt.Errorf("declaring the db cluster: %w", err)
	}

	db := &database{cluster: cluster, secretARN: cluster.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn().Elem()}
	for i := range d.Instances {
		tier := 1
		if i == 0 {
			tier = 0
		}
		inst, err := rds.NewClusterInstance(ctx, fmt.Sprintf("db-%d", i), &rds.ClusterInstanceArgs{
			ClusterIdentifier:  cluster.ID(),
			Engine:             pulumi.String(auroraEngine),
			EngineVersion:      cluster.EngineVersion,
			InstanceClass:      pulumi.String("db.serverless"),
			AvailabilityZone:   pulumi.String(n.azs[i%len(n.azs)]),
			DbSubnetGroupName:  subnets.Name,
			PubliclyAccessible: pulumi.Bool(false),
			// Readers in tiers 0–1 follow the writer's capacity and pause with it.
			PromotionTier:    pulumi.Int(tier),
			ApplyImmediately: pulumi.Bool(!cfg.Production),
			Tags:             cfg.tags(fmt.Sprintf("db-%d", i)),
		})
		if err != nil {
			return nil, fmt.Errorf("declaring db instance %d: %w", i, err)
		}
		db.instances = append(db.instances, inst)
	}

	svc, err := servicediscovery.NewService(ctx, "db", &servicediscovery.ServiceArgs{
		Name:        pulumi.String("db"),
		Description: pulumi.String("the writer endpoint of the " + cfg.Environment() + " database"),
		DnsConfig: &servicediscovery.ServiceDnsConfigArgs{
			NamespaceId:   n.namespace.ID(),
			RoutingPolicy: pulumi.String("WEIGHTED"),
			DnsRecords: servicediscovery.ServiceDnsConfigDnsRecordArray{&servicediscovery.ServiceDnsConfigDnsRecordArgs{
				Type: pulumi.String("CNAME"),
				Ttl:  pulumi.Int(30),
			}},
		},
		Tags: cfg.tags("db-dns"),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the db dns name: %w", err)
	}
	if _, err := servicediscovery.NewInstance(ctx, "db", &servicediscovery.InstanceArgs{
		InstanceId: pulumi.String("writer"),
		ServiceId:  svc.ID(),
		Attributes: pulumi.StringMap{"AWS_INSTANCE_CNAME": cluster.Endpoint},
	}); err != nil {
		return nil, fmt.Errorf("declaring the db dns record: %w", err)
	}
	return db, nil
}
