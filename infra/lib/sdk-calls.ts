// What Counsel calls on AWS, and what IAM must allow for each call: the one table the task role's policy is built
// from. test/policy.test.ts scans src/ for the AWS SDK commands and LangChain AWS classes it uses and fails when
// the code calls something this table lacks, or this table grants something the code no longer calls.

/** A switch that turns a group of calls on: `always`, or a deployment parameter. */
export type Feature = "always" | "textract" | "comprehend" | "guardrail" | "rerank" | "traces";

/** What a grant applies to; policy.ts turns each into ARNs (or "*" where the action takes no resource). */
export type ResourceKind =
  | "chatModels"
  | "embeddingModel"
  | "rerankModel"
  | "guardrail"
  | "rerankAny"
  | "textractAny"
  | "comprehendAny"
  | "xrayAny"
  | "bucket"
  | "objects"
  | "stagedObjects"
  | "key";

export interface Grant {
  actions: string[];
  on: ResourceKind;
}

export interface SdkCall {
  /** Where Counsel makes the call, for people reading the policy. */
  why: string;
  feature: Feature;
  grants: Grant[];
}

/**
 * Every AWS SDK v3 command Counsel sends (directly, or through the LangChain classes below), with the IAM actions
 * it needs. Converse and ConverseStream are authorised by InvokeModel and InvokeModelWithResponseStream.
 */
export const SDK_CALLS: Record<string, SdkCall> = {
  ConverseCommand: {
    why: "answers not streamed (chains with cache.llm), ingestion summaries and classification: ChatBedrockConverse",
    feature: "always",
    grants: [{ actions: ["bedrock:InvokeModel"], on: "chatModels" }],
  },
  ConverseStreamCommand: {
    why: "streamed answers and advisor turns: ChatBedrockConverse",
    feature: "always",
    grants: [{ actions: ["bedrock:InvokeModelWithResponseStream"], on: "chatModels" }],
  },
  InvokeModelCommand: {
    why: "embeddings: BedrockEmbeddings (Titan) and src/models/embeddings/invoke-json.ts (Cohere)",
    feature: "always",
    grants: [{ actions: ["bedrock:InvokeModel"], on: "embeddingModel" }],
  },
  ApplyGuardrailCommand: {
    why: "a chain's Bedrock guardrail checks questions and answers: src/models/guardrails/bedrock.ts",
    feature: "guardrail",
    grants: [{ actions: ["bedrock:ApplyGuardrail"], on: "guardrail" }],
  },
  RerankCommand: {
    why: "a chain's Bedrock reranker (Bedrock Agent Runtime Rerank, which invokes the model): src/models/rerank/bedrock.ts",
    feature: "rerank",
    grants: [
      { actions: ["bedrock:Rerank"], on: "rerankAny" },
      { actions: ["bedrock:InvokeModel"], on: "rerankModel" },
    ],
  },
  AnalyzeDocumentCommand: {
    why: "one-page scans and images: src/ingest/textract/textract-loader.ts",
    feature: "textract",
    grants: [{ actions: ["textract:AnalyzeDocument"], on: "textractAny" }],
  },
  DetectDocumentTextCommand: {
    why: "one-page scans when a recipe asks for no features: src/ingest/textract/textract-loader.ts",
    feature: "textract",
    grants: [{ actions: ["textract:DetectDocumentText"], on: "textractAny" }],
  },
  StartDocumentAnalysisCommand: {
    why: "multi-page scans, staged in S3: src/ingest/textract/async-job.ts",
    feature: "textract",
    grants: [{ actions: ["textract:StartDocumentAnalysis"], on: "textractAny" }],
  },
  GetDocumentAnalysisCommand: {
    why: "polls a multi-page analysis and reads its pages: src/ingest/textract/async-job.ts",
    feature: "textract",
    grants: [{ actions: ["textract:GetDocumentAnalysis"], on: "textractAny" }],
  },
  StartDocumentTextDetectionCommand: {
    why: "multi-page scans with no features: src/ingest/textract/async-job.ts",
    feature: "textract",
    grants: [{ actions: ["textract:StartDocumentTextDetection"], on: "textractAny" }],
  },
  GetDocumentTextDetectionCommand: {
    why: "polls a multi-page text detection: src/ingest/textract/async-job.ts",
    feature: "textract",
    grants: [{ actions: ["textract:GetDocumentTextDetection"], on: "textractAny" }],
  },
  ListObjectsV2Command: {
    why: "S3 ingestion lists a prefix: src/ingest/sources/s3.ts",
    feature: "always",
    grants: [{ actions: ["s3:ListBucket"], on: "bucket" }],
  },
  GetObjectCommand: {
    why:
      "S3 ingestion reads objects (SSE-KMS: decrypted with the stack's key); Textract reads staged copies " +
      "with the caller's permissions: src/ingest/sources/s3.ts",
    feature: "always",
    grants: [
      { actions: ["s3:GetObject"], on: "objects" },
      { actions: ["kms:Decrypt"], on: "key" },
    ],
  },
  PutObjectCommand: {
    why:
      "stages multi-page scans for Textract under TEXTRACT_S3_PREFIX (SSE-KMS: a data key from the stack's " +
      "key): src/ingest/textract/textract-loader.ts, src/ingest/sources/s3.ts",
    feature: "textract",
    grants: [
      { actions: ["s3:PutObject"], on: "stagedObjects" },
      { actions: ["kms:GenerateDataKey"], on: "key" },
    ],
  },
  GenerateDataKeyCommand: {
    why:
      "DATA_DIR envelope encryption: makes DATA_DIR's data key, wrapped by DATA_KMS_KEY_ID (the stack's key), " +
      "at a first start: src/store/at-rest/data-key.ts",
    feature: "always",
    grants: [{ actions: ["kms:GenerateDataKey"], on: "key" }],
  },
  DecryptCommand: {
    why: "DATA_DIR envelope encryption: unwraps DATA_DIR's data key at each later start: src/store/at-rest/data-key.ts",
    feature: "always",
    grants: [{ actions: ["kms:Decrypt"], on: "key" }],
  },
  DetectPiiEntitiesCommand: {
    why: "PII redaction by recipes whose redact.pii.engine is comprehend: src/ingest/transform/pii/comprehend.ts",
    feature: "comprehend",
    grants: [{ actions: ["comprehend:DetectPiiEntities"], on: "comprehendAny" }],
  },
};

/**
 * What the trace collector beside Counsel (the AWS Distro for OpenTelemetry, with `traces=true`) calls with the
 * task's role: Counsel sends it OTLP on loopback, and it sends X-Ray the segments. Not Counsel's own code, so not
 * in the source scan; the same role, so in the same policy.
 */
export const SIDECAR_CALLS: Record<string, SdkCall> = {
  "collector: PutTraceSegments": {
    why: "the collector's awsxray exporter sends Counsel's spans to X-Ray (and its own telemetry records)",
    feature: "traces",
    grants: [{ actions: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], on: "xrayAny" }],
  },
};

/**
 * The @langchain/aws classes Counsel uses and the commands each sends (read from @langchain/aws's dist by the
 * policy test, so that an upgrade that calls something new fails it).
 */
export const LANGCHAIN_AWS_CLASSES: Record<string, { module: string; commands: string[] }> = {
  ChatBedrockConverse: { module: "chat_models", commands: ["ConverseCommand", "ConverseStreamCommand"] },
  BedrockEmbeddings: { module: "embeddings", commands: ["InvokeModelCommand"] },
};
