// The VPC: public subnets for the load balancer and the tasks, isolated subnets (no route out) for Redis, and no
// NAT gateway. Tasks reach AWS's APIs through their public address, which costs far less idle than a NAT gateway
// or interface endpoints per service; their security group admits only the load balancer. S3 goes through a
// gateway endpoint, which is free.
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Construct } from "constructs";

export const REDIS_PORT = 6379;

export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  /** The load balancer's: open to the ingress range on 80 and 443. */
  readonly loadBalancerGroup: ec2.SecurityGroup;
  /** The tasks': reachable from the load balancer only. */
  readonly serviceGroup: ec2.SecurityGroup;
  /** Redis's: reachable from the tasks only, on the Redis port. */
  readonly dataGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: { ingressCidr: string; containerPort: number }) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: "data", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });

    this.loadBalancerGroup = new ec2.SecurityGroup(this, "LoadBalancer", {
      vpc: this.vpc,
      description: "Counsel load balancer",
      allowAllOutbound: false,
    });
    this.serviceGroup = new ec2.SecurityGroup(this, "Service", {
      vpc: this.vpc,
      description: "Counsel tasks",
      // Bedrock, Textract, ECR, Logs and Secrets Manager are reached over HTTPS through the public address.
      allowAllOutbound: true,
    });
    this.dataGroup = new ec2.SecurityGroup(this, "Data", {
      vpc: this.vpc,
      description: "Counsel Redis: the tasks only",
      allowAllOutbound: false,
    });

    const ingress = ec2.Peer.ipv4(props.ingressCidr);
    this.loadBalancerGroup.addIngressRule(ingress, ec2.Port.tcp(80), "HTTP (redirected when HTTPS is on)");
    this.loadBalancerGroup.addIngressRule(ingress, ec2.Port.tcp(443), "HTTPS");
    this.loadBalancerGroup.addEgressRule(
      this.serviceGroup,
      ec2.Port.tcp(props.containerPort),
      "to the tasks",
    );
    this.serviceGroup.addIngressRule(
      this.loadBalancerGroup,
      ec2.Port.tcp(props.containerPort),
      "from the load balancer",
    );
    this.dataGroup.addIngressRule(this.serviceGroup, ec2.Port.tcp(REDIS_PORT), "from the Counsel tasks");
  }

  /** The subnets Redis lives in: isolated, with no route to or from the internet. */
  get dataSubnets(): ec2.ISubnet[] {
    return this.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnets;
  }
}
