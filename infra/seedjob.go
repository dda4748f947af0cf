package main

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// seedCode supplies the seed job's code: the infra/seed command built as the
// bootstrap of a provided.al2023 Lambda function.
type seedCode interface {
	// Archive returns the path of a zip whose only entry is an executable
	// linux/arm64 "bootstrap".
	Archive() (string, error)
	// SchemaVersion identifies the schema the code applies; a new version
	// re-runs the job.
	SchemaVersion() (string, error)
}

// newSeedJob declares the seed Lambda function and invokes it once the
// database's writer exists. Pulumi invokes it again when the schema version
// changes or the database is replaced; sleeping and waking change neither.
func newSeedJob(ctx *pulumi.Context, cfg Config, n *network, db *database, code seedCode) error {
	archive, err := code.Archive()
	if err != nil {
		return fmt.Errorf("building the seed job: %w", err)
	}
	version, err := code.SchemaVersion()
	if err != nil {
		return fmt.Errorf("reading the seed schema version: %w", err)
	}

	logs, err := cloudwatch.NewLogGroup(ctx, "seed", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/stagecoach/" + cfg.Environment() + "/seed"),
		RetentionInDays: pulumi.Int(cfg.Service.LogRetentionDays),
		Tags:            cfg.tags("seed-logs"),
	})
	if err != nil {
		return fmt.Errorf("declaring the seed log group: %w", err)
	}
	readSecret := db.secretARN.ApplyT(func(arn string) (string, error) {
		return policyJSON(statement{Action: []string{"secretsmanager:GetSecretValue"}, Resource: []string{arn}})
	}).(pulumi.StringOutput)
	r, err := newRole(ctx, "seed", "lambda.amazonaws.com", cfg,
		[]string{"arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"}, readSecret)
	if err != nil {
		return err
	}

	fn, err := lambda.NewFunction(ctx, "seed", &lambda.FunctionArgs{
		Description:   pulumi.String("loads sample data into the " + cfg.Environment() + " database (infra/seed)"),
		Runtime:       pulumi.String("provided.al2023"),
		Handler:       pulumi.String("bootstrap"),
		Architectures: pulumi.StringArray{pulumi.String("arm64")},
		Code:          pulumi.NewFileArchive(archive),
		Role:          r.Arn,
		Timeout:       pulumi.Int(300),
		MemorySize:    pulumi.Int(256),
		Layers:        pulumi.StringArray{pulumi.String(cfg.Seed.SecretsExtensionLayerARN)},
		VpcConfig: &lambda.FunctionVpcConfigArgs{
			SubnetIds:        n.privateSubnets,
			SecurityGroupIds: pulumi.StringArray{n.seedSG.ID()},
		},
		Environment: &lambda.FunctionEnvironmentArgs{Variables: pulumi.StringMap{
			"STAGECOACH_ENVIRONMENT":   pulumi.String(cfg.Environment()),
			"STAGECOACH_DB_HOST":       db.cluster.Endpoint,
			"STAGECOACH_DB_PORT":       pulumi.Sprintf("%d", postgresPort),
			"STAGECOACH_DB_NAME":       pulumi.String(databaseName),
			"STAGECOACH_DB_SECRET_ARN": db.secretARN,
			"STAGECOACH_DB_SSLMODE":    pulumi.String("require"),
		}},
		LoggingConfig: &lambda.FunctionLoggingConfigArgs{
			LogFormat: pulumi.String("Text"),
			LogGroup:  logs.Name,
		},
		Tags: cfg.tags("seed"),
	}, pulumi.DependsOn(r.policies))
	if err != nil {
		return fmt.Errorf("declaring the seed function: %w", err)
	}

	payload, err := json.Marshal(map[string]string{"schemaVersion": version})
	if err != nil {
		return fmt.Errorf("rendering the seed payload: %w", err)
	}
	writers := make([]pulumi.Resource, 0, len(db.instances))
	for _, inst := range db.instances {
		writers = append(writers, inst)
	}
	if _, err := lambda.NewInvocation(ctx, "seed", &lambda.InvocationArgs{
		FunctionName: fn.Name,
		Input:        pulumi.String(string(payload)),
		Triggers: pulumi.StringMap{
			"schemaVersion": pulumi.String(version),
			"database":      db.cluster.ClusterResourceId,
		},
	}, pulumi.DependsOn(writers)); err != nil {
		return fmt.Errorf("declaring the seed invocation: %w", err)
	}
	return nil
}
