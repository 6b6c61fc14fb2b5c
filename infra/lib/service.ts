// Counsel on ECS Fargate behind an Application Load Balancer: the container, its settings and secrets, its logs,
// its task role (one generated policy, nothing else), the /readyz health check and autoscaling on CPU and on
// requests per task.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Aws, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import type { Network } from "./network.ts";
import { INGEST_FAILURES, REQUESTS_WAITING } from "./observability.ts";
import type { Parameters } from "./parameters.ts";
import { counselPolicy } from "./policy.ts";
import type { Redis } from "./redis.ts";

export const CONTAINER_PORT = 3000;
/** TEXTRACT_S3_PREFIX's default in src/config/settings.ts, set explicitly so the lifecycle rule cannot drift. */
export const STAGING_PREFIX = "counsel/textract/";
/** Where the start command writes the keys file from its secret (any writable path; /tmp always is). */
export const KEYS_FILE = "/tmp/counsel-api-keys.json";
const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The container's command. Counsel reads its API keys from a file (API_KEYS_FILE) and Redis from one URL
 * (REDIS_URL); ECS hands secrets over as variables. So the shell writes the keys file from BOOT_API_KEYS, builds
 * REDIS_URL from the Redis password, and drops both variables before Counsel starts. BOOT_* are this stack's
 * names, read here only: Counsel has no setting by those names.
 */
export const START_SCRIPT = [
  "set -eu",
  "umask 077",
  `printf '%s' "$BOOT_API_KEYS" > "$API_KEYS_FILE"`,
  `REDIS_URL="rediss://$BOOT_REDIS_USER:$BOOT_REDIS_PASSWORD@$BOOT_REDIS_ADDRESS"`,
  "export REDIS_URL",
  "unset BOOT_API_KEYS BOOT_REDIS_PASSWORD",
  "exec node dist/main.js",
].join("\n");

export interface ServiceProps {
  parameters: Parameters;
  network: Network;
  redis: Redis;
  bucket: s3.IBucket;
  key: kms.IKey;
}

export class CounselService extends Construct {
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly taskRole: iam.Role;
  readonly policy: iam.Policy;
  readonly logGroup: logs.LogGroup;
  readonly apiKeys: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ServiceProps) {
    super(scope, id);
    const { parameters: p, network } = props;

    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: p.logRetentionDays as logs.RetentionDays,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.apiKeys = new secretsmanager.Secret(this, "ApiKeys", {
      description:
        "Counsel's API keys file (JSON: `npx counsel keys create` writes it; only key hashes are stored). " +
        "Starts with no keys, so every route but the probes answers 401 until you put yours here.",
      encryptionKey: props.key,
      // A keys file with no keys (Counsel ignores the generated field). Generated, not a literal value, so that
      // a later deploy never writes it back over the keys the operator put in.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ keys: [] }),
        generateStringKey: "generated",
      },
    });

    this.taskRole = new iam.Role(this, "TaskRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "Counsel's calls to Bedrock, Textract, S3, KMS and Comprehend (one generated policy)",
    });
    this.policy = counselPolicy(this, "TaskPolicy", this.taskRole, {
      partition: Aws.PARTITION,
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
      chatModelIds: [p.chatModelId, ...p.additionalModelIds],
      embeddingModelId: p.embeddingModelId,
      guardrailId: p.guardrail?.id,
      rerankModelId: p.rerankModelId,
      bucketArn: props.bucket.bucketArn,
      stagingPrefix: STAGING_PREFIX,
      keyArn: props.key.keyArn,
      textract: p.textract,
      comprehend: p.comprehendPii,
      traces: p.traces,
    });

    const task = new ecs.FargateTaskDefinition(this, "Task", {
      cpu: p.cpu,
      memoryLimitMiB: p.memoryMiB,
      taskRole: this.taskRole,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const image = p.imageUri
      ? ecs.ContainerImage.fromRegistry(p.imageUri)
      : ecs.ContainerImage.fromAsset(REPOSITORY_ROOT, {
          platform: Platform.LINUX_AMD64,
          // Beside .dockerignore's: what the Dockerfile never copies (a change there builds nothing), local
          // builds it makes itself, and .env, which may hold a developer's secrets.
          exclude: [
            "infra",
            "docs",
            ".ci",
            ".scratch",
            "eval-results",
            "web/dist",
            "web/node_modules",
            ".env",
            "*.log",
          ],
        });
    const counsel = task.addContainer("counsel", {
      image,
      essential: true,
      command: ["sh", "-c", START_SCRIPT],
      portMappings: [{ containerPort: CONTAINER_PORT }],
      logging: ecs.LogDriver.awsLogs({ logGroup: this.logGroup, streamPrefix: "counsel" }),
      environment: counselEnvironment(p, props.bucket.bucketName, props.key.keyArn, props.redis),
      secrets: {
        BOOT_API_KEYS: ecs.Secret.fromSecretsManager(this.apiKeys),
        BOOT_REDIS_PASSWORD: ecs.Secret.fromSecretsManager(props.redis.password),
      },
      // The image's HEALTHCHECK, which ECS does not read: liveness only, so a Redis outage replaces no task.
      healthCheck: {
        command: [
          "CMD",
          "node",
          "-e",
          `fetch('http://127.0.0.1:${CONTAINER_PORT}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        startPeriod: Duration.seconds(60),
        retries: 3,
      },
      // Counsel closes its streams on SIGTERM; this is how long ECS waits before SIGKILL.
      stopTimeout: Duration.seconds(60),
    });
    if (p.traces) {
      // The AWS Distro for OpenTelemetry collector: Counsel sends it OTLP on loopback (OTEL_EXPORTER_OTLP_ENDPOINT),
      // it sends X-Ray the segments, with the task role's two X-Ray actions (policy.ts, SIDECAR_CALLS).
      const collector = task.addContainer("otel-collector", {
        image: ecs.ContainerImage.fromRegistry(p.collectorImage),
        essential: false,
        environment: { AOT_CONFIG_CONTENT: COLLECTOR_CONFIG },
        logging: ecs.LogDriver.awsLogs({ logGroup: this.logGroup, streamPrefix: "otel-collector" }),
        memoryReservationMiB: 64,
      });
      counsel.addContainerDependencies({
        container: collector,
        condition: ecs.ContainerDependencyCondition.START,
      });
    }

    this.service = new ecs.FargateService(this, "Service", {
      // Container Insights left off: its per-task metrics are billed even idle; AWS/ECS CPU and memory are free.
      cluster: new ecs.Cluster(this, "Cluster", { vpc: network.vpc }),
      taskDefinition: task,
      desiredCount: p.desiredCount,
      assignPublicIp: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [network.serviceGroup],
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(120),
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc: network.vpc,
      internetFacing: true,
      securityGroup: network.loadBalancerGroup,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      // Long enough for an answer that is not streamed; streams send a heartbeat every 15 s (SSE_HEARTBEAT_MS).
      idleTimeout: Duration.seconds(120),
      dropInvalidHeaderFields: true,
    });
    // `open: false`: the security group admits the ingress range, not the whole internet by default.
    const listener = p.certificateArn
      ? this.httpsListener(p.certificateArn)
      : this.loadBalancer.addListener("Http", { port: 80, open: false });

    this.targetGroup = listener.addTargets("Counsel", {
      port: CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.service],
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        // Readiness: a task whose store (Redis) cannot serve gets no traffic.
        path: "/readyz",
        healthyHttpCodes: "200",
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });
    // Counsel serves Prometheus metrics without a key (for a scraper inside the VPC): not to the internet.
    listener.addAction("HideMetrics", {
      priority: 10,
      conditions: [elbv2.ListenerCondition.pathPatterns(["/metrics"])],
      action: elbv2.ListenerAction.fixedResponse(404, {
        contentType: "text/plain",
        messageBody: "Not Found",
      }),
    });

    const scaling = this.service.autoScaleTaskCount({ minCapacity: p.minCount, maxCapacity: p.maxCount });
    scaling.scaleOnCpuUtilization("Cpu", {
      targetUtilizationPercent: p.cpuTargetPercent,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });
    scaling.scaleOnRequestCount("Requests", {
      requestsPerTarget: p.requestsPerTarget,
      targetGroup: this.targetGroup,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });
    // Arrivals are one signal; the work each task has queued (its fair turns' backlog) is the other: a few slow
    // model calls pile up waiting requests long before the request count or the CPU moves.
    scaling.scaleToTrackCustomMetric("RequestsWaiting", {
      metric: new cloudwatch.Metric({
        ...REQUESTS_WAITING,
        statistic: "Average",
        period: Duration.minutes(1),
      }),
      targetValue: p.requestsWaitingTarget,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });
  }

  private httpsListener(certificateArn: string): elbv2.ApplicationListener {
    this.loadBalancer.addListener("Http", {
      port: 80,
      open: false,
      defaultAction: elbv2.ListenerAction.redirect({ protocol: "HTTPS", port: "443", permanent: true }),
    });
    return this.loadBalancer.addListener("Https", {
      port: 443,
      open: false,
      certificates: [elbv2.ListenerCertificate.fromArn(certificateArn)],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
    });
  }
}

/** Where Counsel sends its traces: the collector beside it in the task (same network namespace on Fargate). */
export const COLLECTOR_ENDPOINT = "http://127.0.0.1:4318";

/** The collector's configuration: OTLP over HTTP on loopback in, batched, X-Ray out; nothing else. */
export const COLLECTOR_CONFIG = [
  "receivers:",
  "  otlp:",
  "    protocols:",
  "      http:",
  "        endpoint: 127.0.0.1:4318",
  "processors:",
  "  batch: {}",
  "exporters:",
  "  awsxray: {}",
  "service:",
  "  pipelines:",
  "    traces:",
  "      receivers: [otlp]",
  "      processors: [batch]",
  "      exporters: [awsxray]",
].join("\n");

/** Counsel's settings (src/config/settings.ts) for this deployment; REDIS_URL is built by START_SCRIPT. */
export function counselEnvironment(
  p: Parameters,
  bucketName: string,
  keyArn: string,
  redis: Redis,
): Record<string, string> {
  return {
    HOST: "0.0.0.0",
    PORT: String(CONTAINER_PORT),
    AWS_REGION: Aws.REGION,
    MODEL_PROVIDER: "bedrock",
    MODEL_ID: p.chatModelId,
    EMBEDDINGS_PROVIDER: "bedrock",
    EMBEDDINGS_MODEL: p.embeddingModelId,
    // MemoryDB and ElastiCache for Valkey 8.2 both have the Query Engine; naming it fails fast if not.
    VECTOR_STORE: "redis-search",
    REDIS_CLUSTER: "true",
    TEXTRACT_ENABLED: String(p.textract),
    TEXTRACT_S3_BUCKET: bucketName,
    TEXTRACT_S3_PREFIX: STAGING_PREFIX,
    // Staged documents say SSE-KMS with the stack's key themselves, whatever the bucket's default becomes.
    S3_KMS_KEY_ID: keyArn,
    // DATA_DIR's files are sealed with a data key the stack's key wraps (src/store/at-rest/data-key.ts).
    DATA_KMS_KEY_ID: keyArn,
    API_KEYS_FILE: KEYS_FILE,
    // CloudWatch metrics as EMF lines on the log stream: the IngestFailures alarm and the dashboard read them.
    METRICS_FORMAT: "emf",
    METRICS_NAMESPACE: INGEST_FAILURES.namespace,
    // Traces of every request, model call and tool call, through the collector to X-Ray (CloudWatch's Traces).
    ...(p.traces ? { OTEL_EXPORTER_OTLP_ENDPOINT: COLLECTOR_ENDPOINT, OTEL_SERVICE_NAME: "counsel" } : {}),
    // The image's examples are not this organisation's documents; chains and prompts are baked into the image.
    LOAD_EXAMPLES: "false",
    WATCH_CONFIG: "false",
    BOOT_REDIS_USER: redis.user,
    BOOT_REDIS_ADDRESS: redis.address,
  };
}
