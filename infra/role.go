package main

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// role is an IAM role with its policies. Resources that act as the role at
// creation time (a Lambda function in a VPC) depend on policies too.
type role struct {
	*iam.Role
	policies []pulumi.Resource
}

// statement is one Allow statement of an IAM policy.
type statement struct {
	Action   []string
	Resource []string
}

// newRole declares a role that service may assume, with the given managed
// policies attached and an inline policy when inline is not nil.
func newRole(ctx *pulumi.Context, name, service string, cfg Config, managed []string, inline pulumi.StringInput) (*role, error) {
	assume, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Principal": map[string]string{"Service": service},
			"Action":    "sts:AssumeRole",
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("rendering the %s trust policy: %w", name, err)
	}
	r, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(string(assume)),
		Description:      pulumi.String(name + " in the " + cfg.Environment() + " environment"),
		Tags:             cfg.tags(name),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring role %s: %w", name, err)
	}
	out := &role{Role: r}
	for i, arn := range managed {
		a, err := iam.NewRolePolicyAttachment(ctx, fmt.Sprintf("%s-%d", name, i), &iam.RolePolicyAttachmentArgs{
			Role:      r.Name,
			PolicyArn: pulumi.String(arn),
		})
		if err != nil {
			return nil, fmt.Errorf("attaching %s to role %s: %w", arn, name, err)
		}
		out.policies = append(out.policies, a)
	}
	if inline != nil {
		p, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
			Role:   r.Name,
			Policy: inline,
		})
		if err != nil {
			return nil, fmt.Errorf("declaring the inline policy of role %s: %w", name, err)
		}
		out.policies = append(out.policies, p)
	}
	return out, nil
}

// policyJSON renders an IAM policy document of Allow statements.
func policyJSON(statements ...statement) (string, error) {
	var list []map[string]any
	for _, s := range statements {
		list = append(list, map[string]any{"Effect": "Allow", "Action": s.Action, "Resource": s.Resource})
	}
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": list})
	if err != nil {
		return "", fmt.Errorf("rendering policy: %w", err)
	}
	return string(b), nil
}
