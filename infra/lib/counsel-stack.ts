// Counsel in one stack: network, storage and key, Redis, the service, and its dashboard and alarms. Outputs name
// what an operator needs next: the address, the API keys secret, the bucket.
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { Network } from "./network.ts";
import { Observability } from "./observability.ts";
import type { Parameters } from "./parameters.ts";
import { Redis } from "./redis.ts";
import { CONTAINER_PORT, CounselService, STAGING_PREFIX } from "./service.ts";
import { Storage } from "./storage.ts";

export interface CounselStackProps extends StackProps {
  parameters: Parameters;
}

export class CounselStack extends Stack {
  readonly network: Network;
  readonly storage: Storage;
  readonly redis: Redis;
  readonly counsel: CounselService;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: CounselStackProps) {
    super(scope, id, props);
    const p = props.parameters;
    this.network = new Network(this, "Network", {
      ingressCidr: p.ingressCidr,
      containerPort: CONTAINER_PORT,
    });
    this.storage = new Storage(this, "Storage", {
      stagingPrefix: STAGING_PREFIX,
      stagingExpirationDays: p.stagingExpirationDays,
    });
    this.redis = new Redis(this, "Redis", {
      service: p.redis,
      nodeType: p.redisNodeType,
      replicas: p.redisReplicas,
      subnets: this.network.dataSubnets,
      securityGroup: this.network.dataGroup,
      key: this.storage.key,
    });
    this.counsel = new CounselService(this, "Counsel", {
      parameters: p,
      network: this.network,
      redis: this.redis,
      bucket: this.storage.bucket,
      key: this.storage.key,
    });
    this.observability = new Observability(this, "Observability", {
      parameters: p,
      service: this.counsel,
      redis: this.redis,
      key: this.storage.key,
    });

    const scheme = p.certificateArn ? "https" : "http";
    new CfnOutput(this, "Url", {
      description: "Counsel's address (point your DNS name at it when HTTPS is on)",
      value: `${scheme}://${this.counsel.loadBalancer.loadBalancerDnsName}`,
    });
    new CfnOutput(this, "ApiKeysSecret", {
      description: "Put the keys file `npx counsel keys create` writes here, then redeploy the service",
      value: this.counsel.apiKeys.secretName,
    });
    new CfnOutput(this, "DocumentsBucket", {
      description: `Ingest with {"s3": "s3://<bucket>/<prefix>/"}; Textract stages under ${STAGING_PREFIX}`,
      value: this.storage.bucket.bucketName,
    });
    new CfnOutput(this, "ClusterName", { value: this.counsel.service.cluster.clusterName });
    new CfnOutput(this, "ServiceName", { value: this.counsel.service.serviceName });
    new CfnOutput(this, "AlarmTopic", { value: this.observability.topic.topicArn });
    if (p.guardrail) {
      new CfnOutput(this, "GuardrailForChains", {
        description: "Counsel reads guardrails from chain files: put this in chains/*.yaml",
        value: `guardrail: { id: ${p.guardrail.id}, version: "${p.guardrail.version}" }`,
      });
    }
  }
}
