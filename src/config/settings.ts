// One typed settings object, read from the environment once at start-up. No other module reads process.env.
import { isIP } from "node:net";
import path from "node:path";
import { z } from "zod/v4";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const port = z.coerce.number().int().min(0).max(65535);

/** EMBEDDINGS_MODEL of bedrock when unset. */
const BEDROCK_EMBEDDINGS = "amazon.titan-embed-text-v2:0";
/** EMBEDDINGS_DIMENSIONS of local and bedrock when unset. */
const DEFAULT_DIMENSIONS = 1024;

/**
 * The environment variables Counsel reads, each with its default and description: the one source of the settings
 * table in docs/configuration.md (`npm run docs:config` writes it). Parse through loadSettings, which cleans the
 * environment and names every bad variable.
 */
export const settingsSchema = z.object({
  PORT: port.default(3000).describe("HTTP port."),
  HOST: z.string().min(1).default("127.0.0.1").describe("Address to listen on (0.0.0.0 in a container)."),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("pino log level."),
  HEAP_GROWING_PERCENT: z.coerce
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(50)
    .describe(
      "How far V8 lets the JS heap grow past what is live before it collects again, in percent (V8's " +
        "--heap-growing-percent). 0: V8's own choice, up to 4x, which took ten times SciFact's ingestion to " +
        "826 MiB over idle where 50 took it to 579 (docs/operations.md#memory).",
    ),
  DATA_DIR: z
    .string()
    .min(1)
    .default("./data")
    .describe("Where the embedded store, record manager and other local state live."),
  DATA_KMS_KEY_ID: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .describe(
      "A KMS key (id, ARN or alias): DATA_DIR's files are encrypted at rest with a data key it wraps (envelope " +
        "encryption; docs/operations.md). Unset: plain files, unless DATA_DIR holds a data-key.json, which then " +
        "needs it.",
    ),
  LOAD_EXAMPLES: bool.default(true).describe("Index the example knowledge base in examples/ at first start."),
  EXAMPLES_DIR: z
    .string()
    .min(1)
    .default("./examples/docs")
    .describe("The example knowledge base LOAD_EXAMPLES indexes."),
  CHAINS_DIR: z.string().min(1).default("./chains").describe("Chain configs, one YAML file per chain."),
  PROMPTS_DIR: z
    .string()
    .min(1)
    .default("./prompts")
    .describe("Prompt templates, referenced by name from chains."),
  LOADERS_DIR: z.string().min(1).default("./loaders").describe("Ingestion recipes."),
  WATCH_CONFIG: bool
    .default(true)
    .describe(
      "Reload chains/ and prompts/ when their files change (an invalid edit is logged; the last good one serves).",
    ),
  RECIPE: z
    .string()
    .min(1)
    .default("default")
    .describe(
      "The ingestion recipe (a file in LOADERS_DIR, without .yaml) used by uploads, the CLI and examples.",
    ),
  PII_HASH_KEY: z
    .string()
    .min(16, { error: "expected a secret of at least 16 characters" })
    .optional()
    .describe(
      "The HMAC key of recipes whose `redact.pii.strategy` is hash (equal values, equal hashes); required by them.",
    ),
  MODEL_PROVIDER: z
    .enum(["extractive", "bedrock", "openai"])
    .default("extractive")
    .describe(
      "The answering model of chains that do not name one: extractive (offline), bedrock (Amazon Bedrock) or " +
        "openai (the OpenAI API, or any OpenAI-compatible server at OPENAI_BASE_URL: Ollama, vLLM, LM Studio); " +
        "bedrock and openai need MODEL_ID.",
    ),
  MODEL_ID: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The model of chains that do not name one: a Bedrock model or inference profile " +
        "(us.amazon.nova-micro-v1:0), or the name an OpenAI-compatible server serves it under (llama3.2 on Ollama).",
    ),
  OPENAI_BASE_URL: z
    .url({
      protocol: /^https?$/,
      error: "expected an http:// or https:// URL, e.g. http://localhost:11434/v1 (Ollama)",
    })
    .optional()
    .describe(
      "The OpenAI-compatible server of the openai providers, up to /v1: Ollama http://localhost:11434/v1, vLLM " +
        "http://host:8000/v1, LM Studio http://localhost:1234/v1. Unset: the OpenAI API. Checked at start.",
    ),
  OPENAI_API_KEY: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The bearer key of the openai providers: required by the OpenAI API; a local server (Ollama) takes none.",
    ),
  EMBEDDINGS_PROVIDER: z
    .enum(["local", "bedrock", "openai"])
    .default("local")
    .describe(
      "local: offline hashed embeddings; bedrock: Titan Text Embeddings v2 or Cohere Embed on Amazon Bedrock; " +
        "openai: EMBEDDINGS_MODEL on the OpenAI API or the server at OPENAI_BASE_URL.",
    ),
  EMBEDDINGS_MODEL: z
    .string()
    .min(1)
    .optional()
    .describe(
      `The embedding model. bedrock: ${BEDROCK_EMBEDDINGS} when unset, or a Cohere Embed id; openai: required, ` +
        "the server's name for it (nomic-embed-text on Ollama, text-embedding-3-small on the OpenAI API).",
    ),
  EMBEDDINGS_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(256)
    .default(16)
    .describe("Embedding calls in flight at once (bedrock, openai)."),
  EMBEDDINGS_DIMENSIONS: z.coerce
    .number()
    .int()
    .min(16)
    .max(8192)
    .optional()
    .describe(
      `Vector dimension; a change starts a new index. local and bedrock: ${DEFAULT_DIMENSIONS} when unset. ` +
        "openai: unset means the model's own size (read from one embedding at start); set, it is sent as " +
        "`dimensions` (models that shorten their vectors: OpenAI's text-embedding-3) and every vector is checked.",
    ),
  VECTOR_STORE: z
    .enum(["local", "redis-search", "redis-vectorset"])
    .optional()
    .describe(
      "Where vectors live; unset means redis (detected) when REDIS_URL is set, local otherwise. Detected: " +
        "redis-search (the Redis Query Engine: MemoryDB, ElastiCache for Valkey, redis:8, Redis Stack) when the " +
        "server has it, else redis-vectorset (Redis 8 vector sets); a store holding vector sets keeps them.",
    ),
  LOCAL_VECTOR_INDEX: z
    .enum(["auto", "exact", "hnsw"])
    .default("auto")
    .describe(
      "How the embedded store (VECTOR_STORE=local) finds the nearest vectors: exact scans them all; hnsw keeps an " +
        "approximate HNSW graph (usearch) of their signs (dense vectors: built in the background as they are " +
        "written) or int8 copies (sparse ones: from the first search), whose candidates are scored as a scan " +
        "scores them; auto (default) scans " +
        "below LOCAL_VECTOR_INDEX_FROM chunks and uses the graph from there. Filtered searches always scan.",
    ),
  LOCAL_VECTOR_INDEX_FROM: z.coerce
    .number()
    .int()
    .min(1)
    .default(20_000)
    .describe("Chunks from which LOCAL_VECTOR_INDEX=auto uses the HNSW graph (per tenant's store)."),
  LOCAL_VECTORS_ON_DISK_FROM: z.coerce
    .number()
    .int()
    .min(1)
    .default(100_000)
    .describe(
      "Chunks from which the embedded store reads the vectors its base file holds from that file when a search " +
        "needs them, instead of keeping them in memory (per tenant's store; 1 KB a 1,024-dimension vector).",
    ),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: "expected redis://host:port or rediss://host:port" })
    .optional()
    .describe(
      "Redis for all state (vectors, records, caches, chat histories); unset keeps everything in-process. " +
        "A redis:// or rediss:// URL.",
    ),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/)
    .default("counsel")
    .describe("Prefix of every Redis key Counsel writes."),
  REDIS_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(750)
    .describe(
      "A Redis that has not answered a PING for this long is down: requests answer 503 at once until it answers " +
        "again (a frozen or partitioned server costs a caller about this plus a third of it, never a hang). " +
        "Keep it above your slowest Redis command.",
    ),
  REDIS_CLUSTER: bool
    .default(false)
    .describe(
      "REDIS_URL is a node of a Redis Cluster (MemoryDB, ElastiCache in cluster mode, a configuration endpoint): " +
        "use a cluster client. Each tenant's keys share a hash tag, so a tenant's data lives on one shard.",
    ),
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/, "expected host:port[,host:port…]")
    .optional()
    .describe(
      "More cluster nodes (host:port, comma-separated) to start from when REDIS_URL's node is down; " +
        "they take REDIS_URL's scheme and credentials.",
    ),
  VECTOR_SET_QUANTIZATION: z
    .enum(["q8", "bin", "noquant"])
    .default("q8")
    .describe(
      "Vector-set quantisation: q8 (default, 4x smaller), bin (32x smaller, coarser) or noquant (full floats).",
    ),
  CHAT_HISTORY_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(604_800)
    .describe("How long an idle chat history is kept."),
  TEXTRACT_ENABLED: bool
    .default(false)
    .describe(
      "Read images and scanned PDFs with Amazon Textract (a recipe's textract.enabled overrides it).",
    ),
  TEXTRACT_S3_BUCKET: z
    .string()
    .min(3)
    .max(63)
    .optional()
    .describe(
      "Where multi-page documents are uploaded for Textract's async API; unset: only one-page documents.",
    ),
  TEXTRACT_S3_PREFIX: z
    .string()
    .default("counsel/textract/")
    .describe("Key prefix of the documents staged in TEXTRACT_S3_BUCKET."),
  URL_ALLOW_ADDRESSES: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((a) => a.trim())
        .filter(Boolean),
    )
    .refine((list) => list.every(isAddressOrRange), {
      error: "expected addresses or CIDR ranges, e.g. 10.20.0.0/16,192.168.1.10",
    })
    .describe(
      "Private addresses or CIDR ranges URL ingestion may fetch (an intranet), comma-separated; public ones always.",
    ),
  S3_KMS_KEY_ID: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .describe(
      "KMS key (id, ARN or alias) the objects Counsel writes to S3 (Textract's staged documents) are encrypted " +
        "with (SSE-KMS); unset: the bucket's default encryption.",
    ),
  S3_FORCE_PATH_STYLE: bool
    .default(false)
    .describe("Address S3 buckets in the path (a custom AWS_ENDPOINT_URL_S3 such as MinIO needs it)."),
  SSE_HEARTBEAT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(300_000)
    .default(15_000)
    .describe(
      "Comment heartbeats on Server-Sent Event streams, so proxies keep quiet streams open; 0 turns them off.",
    ),
  SSE_STALL_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(30_000)
    .describe("A stream whose reader takes nothing for this long is dropped and its turn aborted."),
  API_KEYS_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The API keys (`npx counsel keys create`). Unset: DATA_DIR/api-keys.json if it exists; with no keys file at " +
        "all the service runs open (local use only). Set but missing: the service does not start.",
    ),
  RATE_LIMIT_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(0)
    .default(600)
    .describe("Requests per client (API key, else address) per minute; 0 turns the limit off."),
  METRICS_FORMAT: z
    .enum(["prometheus", "emf"])
    .default("prometheus")
    .describe(
      "prometheus: GET /metrics only. emf: also CloudWatch Embedded Metric Format documents on standard output " +
        "(the log stream), a minute's observations at a time: CloudWatch Logs turns them into metrics.",
    ),
  METRICS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9 ._\-/#:]{1,255}$/, "letters, digits and . - _ / # : (at most 255)")
    .refine((value) => !value.startsWith("AWS/"), "AWS/ is reserved for AWS services")
    .default("Counsel")
    .describe("CloudWatch namespace of the EMF metrics (METRICS_FORMAT=emf)."),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .url()
    .optional()
    .describe(
      "OTLP/HTTP endpoint (http://collector:4318): traces of every request, model call, embedding batch, tool " +
        "call and agent turn are sent there (the exporter also reads OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, " +
        "OTEL_EXPORTER_OTLP_HEADERS and the other standard OTEL_* variables). Unset: no tracing.",
    ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .string()
    .url()
    .optional()
    .describe("OTLP/HTTP endpoint for traces alone (http://collector:4318/v1/traces); turns tracing on too."),
  OTEL_SERVICE_NAME: z.string().min(1).default("counsel").describe("service.name of the traces."),
  OTEL_SDK_DISABLED: z
    .enum(["true", "false"])
    .default("false")
    .describe("true: no tracing, whatever the endpoint."),
  MAX_WAITING_REQUESTS: z.coerce
    .number()
    .int()
    .min(1)
    .default(1000)
    .describe(
      "Questions, chats and ingestions waiting for their turn at most; beyond it they get a 503 at once.",
    ),
  MAX_STREAMS_PER_CLIENT: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(5)
    .describe("Advisor streams one client may have open at once."),
  BODY_LIMIT: z.coerce.number().int().min(1024).default(1_048_576).describe("Largest JSON body, in bytes."),
  UPLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(26_214_400)
    .describe("Largest uploaded file (and S3 object), in bytes."),
  INGEST_WORKERS: z.coerce
    .number()
    .int()
    .min(0)
    .max(64)
    .default(1)
    .describe(
      "Ingestion jobs this service process runs at once; 0: none (run `npx counsel worker` processes instead).",
    ),
  INGEST_ASYNC_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(8_388_608)
    .describe(
      "POST /ingest requests whose documents add up to more bytes run as jobs (202), as ?async=true does.",
    ),
  INGEST_JOB_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(20)
    .default(3)
    .describe(
      "Runs of a job at most when a service keeps failing its documents (throttling, 5xx, Redis away).",
    ),
  INGEST_JOB_BACKOFF_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(5000)
    .describe("Wait before a job's first retry; each next one waits twice as long."),
  INGEST_JOB_LOCK_MS: z.coerce
    .number()
    .int()
    .min(500)
    .default(30_000)
    .describe(
      "With Redis: a worker that stops renewing its job's lock this long (killed, frozen) loses the job to another.",
    ),
  UPLOAD_MAX_FILES: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(20)
    .describe("Most files in one upload."),
});

export type Settings = ReturnType<typeof toSettings>;

function toSettings(env: Env) {
  return {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    heapGrowingPercent: env.HEAP_GROWING_PERCENT,
    dataDir: path.resolve(env.DATA_DIR),
    /** The KMS key that wraps DATA_DIR's data key; undefined: DATA_DIR is not encrypted (store/at-rest/data-key.ts). */
    dataKmsKeyId: env.DATA_KMS_KEY_ID,
    loadExamples: env.LOAD_EXAMPLES,
    examplesDir: path.resolve(env.EXAMPLES_DIR),
    chainsDir: path.resolve(env.CHAINS_DIR),
    promptsDir: path.resolve(env.PROMPTS_DIR),
    loadersDir: path.resolve(env.LOADERS_DIR),
    recipe: env.RECIPE,
    piiHashKey: env.PII_HASH_KEY,
    watchConfig: env.WATCH_CONFIG,
    model: { provider: env.MODEL_PROVIDER, id: env.MODEL_ID },
    /** The server of the openai providers; no baseURL: the OpenAI API. */
    openai: { baseURL: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY },
    embeddings: embeddingsOf(env),
    vectorStore: env.VECTOR_STORE ?? (env.REDIS_URL ? "redis" : "local"),
    localVectorIndex: { mode: env.LOCAL_VECTOR_INDEX, from: env.LOCAL_VECTOR_INDEX_FROM },
    localVectorsOnDiskFrom: env.LOCAL_VECTORS_ON_DISK_FROM,
    redis: env.REDIS_URL
      ? {
          url: env.REDIS_URL,
          prefix: env.REDIS_PREFIX,
          quantization: env.VECTOR_SET_QUANTIZATION,
          timeoutMs: env.REDIS_TIMEOUT_MS,
          cluster: env.REDIS_CLUSTER,
          clusterNodes: env.REDIS_CLUSTER_NODES?.split(",") ?? [],
        }
      : undefined,
    chatHistoryTtlSeconds: env.CHAT_HISTORY_TTL_SECONDS,
    s3: { forcePathStyle: env.S3_FORCE_PATH_STYLE, kmsKeyId: env.S3_KMS_KEY_ID },
    urls: { allow: env.URL_ALLOW_ADDRESSES },
    textract: {
      enabled: env.TEXTRACT_ENABLED,
      s3Bucket: env.TEXTRACT_S3_BUCKET,
      s3Prefix: env.TEXTRACT_S3_PREFIX,
    },
    sse: {
      heartbeatMs: env.SSE_HEARTBEAT_MS,
      stallTimeoutMs: env.SSE_STALL_TIMEOUT_MS,
      maxStreamsPerClient: env.MAX_STREAMS_PER_CLIENT,
    },
    auth: {
      keysFile: path.resolve(env.API_KEYS_FILE ?? path.join(env.DATA_DIR, "api-keys.json")),
      /** The file was named on purpose: without it the service must not start open. */
      required: env.API_KEYS_FILE !== undefined,
    },
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    maxWaitingRequests: env.MAX_WAITING_REQUESTS,
    metrics: { format: env.METRICS_FORMAT, namespace: env.METRICS_NAMESPACE },
    tracing: {
      enabled:
        env.OTEL_SDK_DISABLED !== "true" &&
        Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
      serviceName: env.OTEL_SERVICE_NAME,
    },
    ingestJobs: {
      workers: env.INGEST_WORKERS,
      asyncBytes: env.INGEST_ASYNC_BYTES,
      retry: { attempts: env.INGEST_JOB_ATTEMPTS, backoffMs: env.INGEST_JOB_BACKOFF_MS },
      lockMs: env.INGEST_JOB_LOCK_MS,
    },
    limits: {
      bodyBytes: env.BODY_LIMIT,
      uploadBytes: env.UPLOAD_MAX_BYTES,
      uploadFiles: env.UPLOAD_MAX_FILES,
    },
  };
}

type Env = z.output<typeof settingsSchema>;

/**
 * The embedder's settings, by provider: an openai embedder names its model (loadSettings checks it) and may leave
 * its dimension to the model; the others fall back to Titan v2 and 1024.
 */
function embeddingsOf(env: Env) {
  const concurrency = env.EMBEDDINGS_CONCURRENCY;
  if (env.EMBEDDINGS_PROVIDER === "openai") {
    return {
      provider: "openai" as const,
      model: env.EMBEDDINGS_MODEL ?? "",
      dimensions: env.EMBEDDINGS_DIMENSIONS,
      concurrency,
    };
  }
  return {
    provider: env.EMBEDDINGS_PROVIDER,
    model: env.EMBEDDINGS_MODEL ?? BEDROCK_EMBEDDINGS,
    dimensions: env.EMBEDDINGS_DIMENSIONS ?? DEFAULT_DIMENSIONS,
    concurrency,
  };
}

/** Settings that are each valid but do not work together. */
function combinationProblems(env: Env): string[] {
  const problems: string[] = [];
  if (env.VECTOR_STORE?.startsWith("redis") && !env.REDIS_URL)
    problems.push(`VECTOR_STORE: ${env.VECTOR_STORE} needs REDIS_URL`);
  if ((env.REDIS_CLUSTER || env.REDIS_CLUSTER_NODES) && !env.REDIS_URL)
    problems.push(
      "REDIS_CLUSTER: a cluster needs REDIS_URL (one of its nodes, or its configuration endpoint)",
    );
  if (env.REDIS_CLUSTER_NODES && !env.REDIS_CLUSTER)
    problems.push("REDIS_CLUSTER_NODES: set REDIS_CLUSTER=true too, or leave the nodes out");
  if (env.EMBEDDINGS_PROVIDER === "openai" && !env.EMBEDDINGS_MODEL)
    problems.push(
      "EMBEDDINGS_MODEL: required when EMBEDDINGS_PROVIDER is openai: the server's name for the model, e.g. " +
        "nomic-embed-text (Ollama) or text-embedding-3-small (the OpenAI API)",
    );
  const usesOpenAI = env.MODEL_PROVIDER === "openai" || env.EMBEDDINGS_PROVIDER === "openai";
  if (usesOpenAI && !env.OPENAI_BASE_URL && !env.OPENAI_API_KEY)
    problems.push(
      "OPENAI_API_KEY: required by the OpenAI API (OPENAI_BASE_URL is unset); for a local server set " +
        "OPENAI_BASE_URL instead, e.g. http://localhost:11434/v1 (Ollama)",
    );
  return problems;
}

export class SettingsError extends Error {
  constructor(
    readonly problems: string[],
    options?: ErrorOptions,
  ) {
    super(`Invalid settings:\n${problems.map((p) => `  - ${p}`).join("\n")}`, options);
    this.name = "SettingsError";
  }
}

/** Parses settings from an environment; every bad variable is named in the thrown SettingsError. */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  // Empty strings mean "unset", as in most .env files.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = settingsSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new SettingsError(
      parsed.error.issues.map(
        (i) => `${i.path.join(".")}: ${i.message} (got ${JSON.stringify(cleaned[String(i.path[0])])})`,
      ),
    );
  }
  const problems = combinationProblems(parsed.data);
  if (problems.length > 0) throw new SettingsError(problems);
  return toSettings(parsed.data);
}

/** An IP address, or a CIDR range whose prefix fits its family (checked here, so that a typo stops the start). */
function isAddressOrRange(entry: string): boolean {
  const [address, bits, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const prefix = Number(bits);
  return /^\d{1,3}$/.test(bits) && prefix <= (family === 4 ? 32 : 128);
}
