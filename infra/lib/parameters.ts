// The deployment's choices, read once from CDK context (`-c key=value` or cdk.json) and checked, so that a typo
// stops `cdk synth` with its name instead of deploying something else. docs/aws-deployment.md lists them.
import type { Node } from "constructs";

export type RedisService = "memorydb" | "elasticache";

export interface Parameters {
  /** Counsel's MODEL_ID: a Bedrock model id or inference profile id (`us.…`, `eu.…`, `global.…`) or ARN. */
  chatModelId: string;
  /** Counsel's EMBEDDINGS_MODEL. */
  embeddingModelId: string;
  /** Models that chains in chains/ pin for themselves: IAM only, Counsel reads them from the chain files. */
  additionalModelIds: string[];
  /** A Bedrock guardrail named by a chain's `guardrail: {id, version}`: IAM only (no setting names it). */
  guardrail?: { id: string; version: string };
  /** The reranking model a chain's `retrieval.rerank: {provider: bedrock}` names: IAM only. */
  rerankModelId?: string;
  /** Counsel's TEXTRACT_ENABLED. */
  textract: boolean;
  /** A recipe redacts PII with Comprehend (`redact.pii.engine: comprehend`): IAM only. */
  comprehendPii: boolean;
  /** Counsel's traces through an AWS Distro for OpenTelemetry collector beside it, to X-Ray. */
  traces: boolean;
  /** The collector's image. */
  collectorImage: string;
  redis: RedisService;
  /** MemoryDB (`db.…`) or ElastiCache (`cache.…`) node type. */
  redisNodeType: string;
  /** Replicas per shard: 0 is one node (MemoryDB's transaction log still keeps every acknowledged write). */
  redisReplicas: number;
  desiredCount: number;
  minCount: number;
  maxCount: number;
  /** Fargate task size: CPU units (1024 = 1 vCPU) and memory in MiB. */
  cpu: number;
  memoryMiB: number;
  /** An image to run instead of building the repository's Dockerfile (tests, or an image CI pushed). */
  imageUri?: string;
  /** An ACM certificate: HTTPS on 443 (HTTP redirects to it). Without one the load balancer speaks HTTP. */
  certificateArn?: string;
  /** Who may reach the load balancer. */
  ingressCidr: string;
  logRetentionDays: number;
  /** Days after which staged Textract copies (TEXTRACT_S3_PREFIX) are deleted. */
  stagingExpirationDays: number;
  /** Subscribed to the alarms' topic, when given. */
  alarmEmail?: string;
  /** Target of the request-count scaling policy: ALB requests per task per minute. */
  requestsPerTarget: number;
  /** Target of the CPU scaling policy, in percent. */
  cpuTargetPercent: number;
  /** Target of the backlog scaling policy: requests waiting for their turn, on average per task. */
  requestsWaitingTarget: number;
  /** The p99 target response time alarm's threshold. */
  p99LatencySeconds: number;
}

export const DEFAULTS = {
  chatModelId: "us.amazon.nova-micro-v1:0",
  embeddingModelId: "amazon.titan-embed-text-v2:0",
  guardrailVersion: "DRAFT",
  collectorImage: "public.ecr.aws/aws-observability/aws-otel-collector:latest",
  redis: "memorydb",
  // The smallest nodes that serve vector search: MemoryDB supports it on T4g; ElastiCache needs a larger memory
  // reserve on t4g micro and small nodes, so medium is its smallest without a custom parameter group.
  memorydbNodeType: "db.t4g.small",
  elasticacheNodeType: "cache.t4g.medium",
  redisReplicas: 0,
  desiredCount: 1,
  minCount: 1,
  maxCount: 4,
  cpu: 1024,
  memoryMiB: 2048,
  ingressCidr: "0.0.0.0/0",
  logRetentionDays: 30,
  stagingExpirationDays: 7,
  requestsPerTarget: 120,
  cpuTargetPercent: 60,
  requestsWaitingTarget: 4,
  p99LatencySeconds: 10,
} as const;

/** Fargate's CPU units and the memory sizes each allows, in MiB (AWS: task CPU and memory). */
const FARGATE_SIZES: Record<number, (memory: number) => boolean> = {
  256: (m) => [512, 1024, 2048].includes(m),
  512: (m) => m >= 1024 && m <= 4096 && m % 1024 === 0,
  1024: (m) => m >= 2048 && m <= 8192 && m % 1024 === 0,
  2048: (m) => m >= 4096 && m <= 16384 && m % 1024 === 0,
  4096: (m) => m >= 8192 && m <= 30720 && m % 1024 === 0,
  8192: (m) => m >= 16384 && m <= 61440 && m % 4096 === 0,
  16384: (m) => m >= 32768 && m <= 122880 && m % 8192 === 0,
};

/** The retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

export class ParameterError extends Error {
  override name = "ParameterError";
}

/** Reads and checks every parameter; throws one ParameterError naming each bad value. */
export function readParameters(node: Pick<Node, "tryGetContext">): Parameters {
  const problems: string[] = [];
  const raw = (key: string): unknown => {
    const value = node.tryGetContext(key);
    return value === "" || value === null ? undefined : value;
  };
  const text = (key: string, fallback?: string): string | undefined => {
    const value = raw(key);
    if (value === undefined) return fallback;
    if (typeof value !== "string" || !value.trim()) {
      problems.push(`${key}: expected text, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return value.trim();
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const value = raw(key);
    if (value === undefined) return fallback;
    const n = typeof value === "number" ? value : Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return n;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const value = raw(key);
    if (value === undefined) return fallback;
    if (value === true || value === "true") return true;
    if (value === false || value === "false") return false;
    problems.push(`${key}: expected true or false, got ${JSON.stringify(value)}`);
    return fallback;
  };

  const redis = text("redis", DEFAULTS.redis);
  if (redis !== "memorydb" && redis !== "elasticache")
    problems.push(`redis: expected memorydb or elasticache, got ${JSON.stringify(redis)}`);
  const service: RedisService = redis === "elasticache" ? "elasticache" : "memorydb";
  const redisNodeType =
    text("redisNodeType") ??
    (service === "memorydb" ? DEFAULTS.memorydbNodeType : DEFAULTS.elasticacheNodeType);
  const nodePrefix = service === "memorydb" ? "db." : "cache.";
  if (!redisNodeType.startsWith(nodePrefix))
    problems.push(`redisNodeType: ${service} node types start with ${nodePrefix}, got ${redisNodeType}`);

  const guardrailId = text("guardrailId");
  const guardrailVersion = text("guardrailVersion");
  if (guardrailVersion && !guardrailId) problems.push("guardrailVersion: set guardrailId too");
  if (guardrailVersion && !/^(DRAFT|[1-9]\d*)$/.test(guardrailVersion))
    problems.push(`guardrailVersion: expected DRAFT or a version number, got ${guardrailVersion}`);

  const cpu = int("cpu", DEFAULTS.cpu, 256, 16384);
  const memoryMiB = int("memoryMiB", DEFAULTS.memoryMiB, 512, 122880);
  if (!FARGATE_SIZES[cpu]) problems.push(`cpu: Fargate takes ${Object.keys(FARGATE_SIZES).join(", ")}`);
  else if (!FARGATE_SIZES[cpu](memoryMiB))
    problems.push(`memoryMiB: ${memoryMiB} MiB is not a Fargate size for ${cpu} CPU units`);

  const minCount = int("minCount", DEFAULTS.minCount, 1, 100);
  const maxCount = int("maxCount", DEFAULTS.maxCount, 1, 100);
  const desiredCount = int("desiredCount", DEFAULTS.desiredCount, 1, 100);
  if (minCount > maxCount) problems.push(`minCount: ${minCount} is above maxCount ${maxCount}`);
  if (desiredCount < minCount || desiredCount > maxCount)
    problems.push(`desiredCount: ${desiredCount} is outside minCount..maxCount (${minCount}..${maxCount})`);

  const ingressCidr = text("ingressCidr", DEFAULTS.ingressCidr) as string;
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(ingressCidr))
    problems.push(`ingressCidr: expected an IPv4 CIDR range such as 203.0.113.0/24, got ${ingressCidr}`);

  const logRetentionDays = int("logRetentionDays", DEFAULTS.logRetentionDays, 1, 3653);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays))
    problems.push(
      `logRetentionDays: CloudWatch Logs keeps ${LOG_RETENTION_DAYS.join(", ")} days, not ${logRetentionDays}`,
    );

  const certificateArn = text("certificateArn");
  if (certificateArn && !certificateArn.startsWith("arn:"))
    problems.push(`certificateArn: expected an ACM certificate ARN, got ${certificateArn}`);
  const alarmEmail = text("alarmEmail");
  if (alarmEmail && !/^[^@\s]+@[^@\s]+$/.test(alarmEmail))
    problems.push(`alarmEmail: expected an email address, got ${alarmEmail}`);

  const parameters: Parameters = {
    chatModelId: text("chatModelId", DEFAULTS.chatModelId) as string,
    embeddingModelId: text("embeddingModelId", DEFAULTS.embeddingModelId) as string,
    additionalModelIds: (text("additionalModelIds") ?? "")
      .split(",")
      .map((id) => id.trim())
      .filter(Boolean),
    guardrail: guardrailId
      ? { id: guardrailId, version: guardrailVersion ?? DEFAULTS.guardrailVersion }
      : undefined,
    rerankModelId: text("rerankModelId"),
    textract: flag("textract", true),
    comprehendPii: flag("comprehendPii", false),
    traces: flag("traces", true),
    collectorImage: text("collectorImage", DEFAULTS.collectorImage) as string,
    redis: service,
    redisNodeType,
    redisReplicas: int("redisReplicas", DEFAULTS.redisReplicas, 0, 5),
    desiredCount,
    minCount,
    maxCount,
    cpu,
    memoryMiB,
    imageUri: text("imageUri"),
    certificateArn,
    ingressCidr,
    logRetentionDays,
    stagingExpirationDays: int("stagingExpirationDays", DEFAULTS.stagingExpirationDays, 1, 3650),
    alarmEmail,
    requestsPerTarget: int("requestsPerTarget", DEFAULTS.requestsPerTarget, 1, 100_000),
    cpuTargetPercent: int("cpuTargetPercent", DEFAULTS.cpuTargetPercent, 10, 90),
    requestsWaitingTarget: int("requestsWaitingTarget", DEFAULTS.requestsWaitingTarget, 1, 10_000),
    p99LatencySeconds: int("p99LatencySeconds", DEFAULTS.p99LatencySeconds, 1, 600),
  };
  if (problems.length > 0)
    throw new ParameterError(`Invalid parameters:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return parameters;
}
