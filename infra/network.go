package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/servicediscovery"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// network is one environment's isolated VPC: its subnets, routing, NAT,
// security groups and private DNS namespace. Nothing in it is shared with or
// connected to another environment.
type network struct {
	vpc            *ec2.Vpc
	azs            []string
	publicSubnets  pulumi.StringArray
	privateSubnets pulumi.StringArray
	// Security groups: the load balancer, the service's tasks, the database
	// and (when seeding) the seed job.
	albSG, appSG, dbSG, seedSG *ec2.SecurityGroup
	// namespace is the environment's Cloud Map namespace, which owns a Route 53
	// private hosted zone associated with this VPC only.
	namespace *servicediscovery.PrivateDnsNamespace
}

// dnsZone is the environment's private DNS zone name.
func (c Config) dnsZone() string { return c.Environment() + ".stagecoach.internal" }

// newNetwork declares the VPC across azs.
func newNetwork(ctx *pulumi.Context, cfg Config, azs []string) (*network, error) {
	cidr := cfg.vpcCIDR()
	layout := planSubnets(cidr, len(azs))
	n := &network{azs: azs}

	var err error
	n.vpc, err = ec2.NewVpc(ctx, "vpc", &ec2.VpcArgs{
		CidrBlock:          pulumi.String(cidr.String()),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               cfg.tags("vpc"),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the vpc: %w", err)
	}
	igw, err := ec2.NewInternetGateway(ctx, "igw", &ec2.InternetGatewayArgs{
		VpcId: n.vpc.ID(),
		Tags:  cfg.tags("igw"),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the internet gateway: %w", err)
	}

	publicRT, err := ec2.NewRouteTable(ctx, "public", &ec2.RouteTableArgs{
		VpcId: n.vpc.ID(),
		Routes: ec2.RouteTableRouteArray{&ec2.RouteTableRouteArgs{
			CidrBlock: pulumi.String("0.0.0.0/0"),
			GatewayId: igw.ID(),
		}},
		Tags: cfg.tags("public"),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the public route table: %w", err)
	}

	var nats []*ec2.NatGateway
	for i, az := range azs {
		pub, err := n.subnet(ctx, cfg, "public", i, layout.Public[i].String(), publicRT)
		if err != nil {
			return nil, err
		}
		n.publicSubnets = append(n.publicSubnets, pub.ID())

		if i == 0 || cfg.Network.NATGateways == natPerAZ {
			eip, err := ec2.NewEip(ctx, fmt.Sprintf("nat-%d", i), &ec2.EipArgs{
				Domain: pulumi.String("vpc"),
				Tags:   cfg.tags(fmt.Sprintf("nat-%s", az)),
			})
			if err != nil {
				return nil, fmt.Errorf("declaring nat address %d: %w", i, err)
			}
			nat, err := ec2.NewNatGateway(ctx, fmt.Sprintf("nat-%d", i), &ec2.NatGatewayArgs{
				AllocationId: eip.ID(),
				SubnetId:     pub.ID(),
				Tags:         cfg.tags(fmt.Sprintf("nat-%s", az)),
			}, pulumi.DependsOn([]pulumi.Resource{igw}))
			if err != nil {
				return nil, fmt.Errorf("declaring nat gateway %d: %w", i, err)
			}
			nats = append(nats, nat)
		}
	}

	for i, az := range azs {
		nat := nats[min(i, len(nats)-1)]
		rt, err := ec2.NewRouteTable(ctx, fmt.Sprintf("private-%d", i), &ec2.RouteTableArgs{
			VpcId: n.vpc.ID(),
			Routes: ec2.RouteTableRouteArray{&ec2.RouteTableRouteArgs{
				CidrBlock:    pulumi.String("0.0.0.0/0"),
				NatGatewayId: nat.ID(),
			}},
			Tags: cfg.tags(fmt.Sprintf("private-%s", az)),
		})
		if err != nil {
			return nil, fmt.Errorf("declaring private route table %d: %w", i, err)
		}
		priv, err := n.subnet(ctx, cfg, "private", i, layout.Private[i].String(), rt)
		if err != nil {
			return nil, err
		}
		n.privateSubnets = append(n.privateSubnets, priv.ID())
	}

	if err := n.declareSecurityGroups(ctx, cfg); err != nil {
		return nil, err
	}

	n.namespace, err = servicediscovery.NewPrivateDnsNamespace(ctx, "dns", &servicediscovery.PrivateDnsNamespaceArgs{
		Name:        pulumi.String(cfg.dnsZone()),
		Description: pulumi.String("service discovery for the " + cfg.Environment() + " environment"),
		Vpc:         n.vpc.ID(),
		Tags:        cfg.tags("dns"),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the dns namespace: %w", err)
	}
	return n, nil
}

// subnet declares the tier's ("public" or "private") subnet i in n.azs[i] with cidr, routed by rt.
func (n *network) subnet(ctx *pulumi.Context, cfg Config, tier string, i int, cidr string, rt *ec2.RouteTable) (*ec2.Subnet, error) {
	az := n.azs[i]
	sub, err := ec2.NewSubnet(ctx, fmt.Sprintf("%s-%d", tier, i), &ec2.SubnetArgs{
		VpcId:            n.vpc.ID(),
		CidrBlock:        pulumi.String(cidr),
		AvailabilityZone: pulumi.String(az),
		Tags:             cfg.tags(fmt.Sprintf("%s-%s", tier, az)),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring %s subnet %d: %w", tier, i, err)
	}
	if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("%s-%d", tier, i), &ec2.RouteTableAssociationArgs{
		SubnetId:     sub.ID(),
		RouteTableId: rt.ID(),
	}); err != nil {
		return nil, fmt.Errorf("associating %s subnet %d: %w", tier, i, err)
	}
	return sub, nil
}

// declareSecurityGroups creates the environment's security groups. Only the
// load balancer admits address ranges (network.allowedCidrs); every other
// group admits only the groups in front of it.
func (n *network) declareSecurityGroups(ctx *pulumi.Context, cfg Config) error {
	var ingress ec2.SecurityGroupIngressArray
	for _, port := range []int{80, 443} {
		ingress = append(ingress, &ec2.SecurityGroupIngressArgs{
			Description: pulumi.String("VPN and office ranges (network.allowedCidrs)"),
			Protocol:    pulumi.String("tcp"),
			FromPort:    pulumi.Int(port),
			ToPort:      pulumi.Int(port),
			CidrBlocks:  pulumi.ToStringArray(cfg.Network.AllowedCIDRs),
		})
	}
	allEgress := ec2.SecurityGroupEgressArray{&ec2.SecurityGroupEgressArgs{
		Description: pulumi.String("outbound through the NAT gateway"),
		Protocol:    pulumi.String("-1"),
		FromPort:    pulumi.Int(0),
		ToPort:      pulumi.Int(0),
		CidrBlocks:  pulumi.StringArray{pulumi.String("0.0.0.0/0")},
	}}
	port := cfg.Service.ContainerPort

	var err error
	n.albSG, err = ec2.NewSecurityGroup(ctx, "alb", &ec2.SecurityGroupArgs{
		VpcId:       n.vpc.ID(),
		Description: pulumi.String("load balancer of " + cfg.Environment()),
		Ingress:     ingress,
		Egress: ec2.SecurityGroupEgressArray{&ec2.SecurityGroupEgressArgs{
			Description: pulumi.String("to the service's tasks in this vpc"),
			Protocol:    pulumi.String("tcp"),
			FromPort:    pulumi.Int(port),
			ToPort:      pulumi.Int(port),
			CidrBlocks:  pulumi.StringArray{pulumi.String(cfg.vpcCIDR().String())},
		}},
		Tags: cfg.tags("alb"),
	})
	if err != nil {
		return fmt.Errorf("declaring the load balancer security group: %w", err)
	}
	n.appSG, err = ec2.NewSecurityGroup(ctx, "app", &ec2.SecurityGroupArgs{
		VpcId:       n.vpc.ID(),
		Description: pulumi.String("service tasks of " + cfg.Environment()),
		Ingress:     tcpFromGroups("from the load balancer", port, pulumi.StringArray{n.albSG.ID()}),
		Egress:      allEgress,
		Tags:        cfg.tags("app"),
	})
	if err != nil {
		return fmt.Errorf("declaring the service security group: %w", err)
	}
	dbClients := pulumi.StringArray{n.appSG.ID()}
	if cfg.Seed.Enabled {
		n.seedSG, err = ec2.NewSecurityGroup(ctx, "seed", &ec2.SecurityGroupArgs{
			VpcId:       n.vpc.ID(),
			Description: pulumi.String("seed job of " + cfg.Environment()),
			Egress:      allEgress,
			Tags:        cfg.tags("seed"),
		})
		if err != nil {
			return fmt.Errorf("declaring the seed security group: %w", err)
		}
		dbClients = append(dbClients, n.seedSG.ID())
	}
	n.dbSG, err = ec2.NewSecurityGroup(ctx, "db", &ec2.SecurityGroupArgs{
		VpcId:       n.vpc.ID(),
		Description: pulumi.String("database of " + cfg.Environment()),
		Ingress:     tcpFromGroups("postgres from the service and the seed job", postgresPort, dbClients),
		Tags:        cfg.tags("db"),
	})
	if err != nil {
		return fmt.Errorf("declaring the database security group: %w", err)
	}
	return nil
}

// tcpFromGroups admits TCP on port from the security groups.
func tcpFromGroups(description string, port int, groups pulumi.StringArray) ec2.SecurityGroupIngressArray {
	return ec2.SecurityGroupIngressArray{&ec2.SecurityGroupIngressArgs{
		Description:    pulumi.String(description),
		Protocol:       pulumi.String("tcp"),
		FromPort:       pulumi.Int(port),
		ToPort:         pulumi.Int(port),
		SecurityGroups: groups,
	}}
}
