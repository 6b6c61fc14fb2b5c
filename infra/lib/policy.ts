// The task role's one IAM policy, generated from the table of what Counsel calls (sdk-calls.ts): each statement
// is a kind of resource, its actions those of the enabled calls, scoped to ARNs wherever IAM takes them.
import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import type { Parameters } from "./parameters.ts";
import { type Feature, type ResourceKind, SDK_CALLS, SIDECAR_CALLS } from "./sdk-calls.ts";

export interface PolicyTargets {
  partition: string;
  region: string;
  account: string;
  /** MODEL_ID and the models chains pin: ids, inference profile ids or ARNs. */
  chatModelIds: string[];
  embeddingModelId: string;
  guardrailId?: string;
  rerankModelId?: string;
  bucketArn: string;
  /** TEXTRACT_S3_PREFIX: the only place Counsel writes to. */
  stagingPrefix: string;
  keyArn: string;
  textract: boolean;
  comprehend: boolean;
  /** The trace collector runs beside Counsel (`traces=true`). */
  traces: boolean;
}

/** A statement's Sid, one per kind of resource, in the order they are printed. */
const STATEMENTS: Record<ResourceKind, string> = {
  chatModels: "BedrockChatModels",
  embeddingModel: "BedrockEmbeddingModel",
  guardrail: "BedrockGuardrail",
  rerankAny: "BedrockRerank",
  rerankModel: "BedrockRerankModel",
  textractAny: "Textract",
  comprehendAny: "ComprehendPii",
  xrayAny: "XRayTraces",
  bucket: "S3ListBucket",
  objects: "S3ReadObjects",
  stagedObjects: "S3StageForTextract",
  key: "KmsStackKey",
};

/** Cross-region inference profile ids start with a geography: `us.amazon.nova-micro-v1:0`. */
const INFERENCE_PROFILE = /^(us|us-gov|eu|apac|ap|jp|au|ca|global)\.(.+)$/;

/**
 * The ARNs InvokeModel needs for a model id. An inference profile is invoked as the profile and, in each region
 * it routes to, as the foundation model: both are granted, the model in any region (`*`) since the profile
 * chooses it.
 */
export function modelArns(id: string, t: Pick<PolicyTargets, "partition" | "region" | "account">): string[] {
  if (id.startsWith("arn:")) return [id];
  const profile = INFERENCE_PROFILE.exec(id);
  if (profile) {
    return [
      `arn:${t.partition}:bedrock:${t.region}:${t.account}:inference-profile/${id}`,
      `arn:${t.partition}:bedrock:*::foundation-model/${profile[2]}`,
    ];
  }
  return [`arn:${t.partition}:bedrock:${t.region}::foundation-model/${id}`];
}

export function enabledFeatures(t: PolicyTargets): Set<Feature> {
  const on = new Set<Feature>(["always"]);
  if (t.textract) on.add("textract");
  if (t.comprehend) on.add("comprehend");
  if (t.guardrailId) on.add("guardrail");
  if (t.rerankModelId) on.add("rerank");
  if (t.traces) on.add("traces");
  return on;
}

function resourcesOf(kind: ResourceKind, t: PolicyTargets): string[] {
  switch (kind) {
    case "chatModels":
      return [...new Set(t.chatModelIds.flatMap((id) => modelArns(id, t)))];
    case "embeddingModel":
      return modelArns(t.embeddingModelId, t);
    case "rerankModel":
      return t.rerankModelId ? modelArns(t.rerankModelId, t) : [];
    case "guardrail":
      if (!t.guardrailId) return [];
      return t.guardrailId.startsWith("arn:")
        ? [t.guardrailId]
        : [`arn:${t.partition}:bedrock:${t.region}:${t.account}:guardrail/${t.guardrailId}`];
    // Rerank, Textract, Comprehend's DetectPiiEntities and X-Ray's writes take no resource-level permissions.
    case "rerankAny":
    case "textractAny":
    case "comprehendAny":
    case "xrayAny":
      return ["*"];
    case "bucket":
      return [t.bucketArn];
    case "objects":
      return [`${t.bucketArn}/*`];
    case "stagedObjects":
      return [`${t.bucketArn}/${t.stagingPrefix}*`];
    case "key":
      return [t.keyArn];
  }
}

/** The statements for the enabled calls: one per kind of resource, actions sorted, none empty. */
export function counselPolicyStatements(t: PolicyTargets): iam.PolicyStatement[] {
  const features = enabledFeatures(t);
  const actions = new Map<ResourceKind, Set<string>>();
  for (const call of [...Object.values(SDK_CALLS), ...Object.values(SIDECAR_CALLS)]) {
    if (!features.has(call.feature)) continue;
    for (const grant of call.grants) {
      const set = actions.get(grant.on) ?? new Set<string>();
      for (const action of grant.actions) set.add(action);
      actions.set(grant.on, set);
    }
  }
  return (Object.keys(STATEMENTS) as ResourceKind[])
    .filter((kind) => actions.has(kind))
    .map(
      (kind) =>
        new iam.PolicyStatement({
          sid: STATEMENTS[kind],
          effect: iam.Effect.ALLOW,
          actions: [...(actions.get(kind) as Set<string>)].sort(),
          resources: resourcesOf(kind, t),
        }),
    );
}

export function counselPolicyDocument(t: PolicyTargets): iam.PolicyDocument {
  return new iam.PolicyDocument({ statements: counselPolicyStatements(t) });
}

/** The task role's policy, attached to `role`; nothing else is granted to that role. */
export function counselPolicy(scope: Construct, id: string, role: iam.IRole, t: PolicyTargets): iam.Policy {
  return new iam.Policy(scope, id, { document: counselPolicyDocument(t), roles: [role] });
}

/** A CloudFormation-style `${Name}` placeholder, for a value only a deployed stack knows. */
const placeholder = (name: string) => ["${", name, "}"].join("");

/** The targets of a deployment with these parameters, the stack's own ARNs as placeholders (for print). */
export function placeholderTargets(p: Parameters, stagingPrefix: string): PolicyTargets {
  const region = placeholder("AWS::Region");
  const account = placeholder("AWS::AccountId");
  return {
    partition: "aws",
    region,
    account,
    chatModelIds: [p.chatModelId, ...p.additionalModelIds],
    embeddingModelId: p.embeddingModelId,
    guardrailId: p.guardrail?.id,
    rerankModelId: p.rerankModelId,
    bucketArn: `arn:aws:s3:::${placeholder("DocumentsBucket")}`,
    stagingPrefix,
    keyArn: `arn:aws:kms:${region}:${account}:key/${placeholder("KeyId")}`,
    textract: p.textract,
    comprehend: p.comprehendPii,
    traces: p.traces,
  };
}

/** The parameter that turns each optional group of calls on. */
const SWITCHES: Record<Feature, string> = {
  always: "always",
  textract: "`textract=true`",
  comprehend: "`comprehendPii=true`",
  guardrail: "`guardrailId`",
  rerank: "`rerankModelId`",
  traces: "`traces=true`",
};

/** SDK_CALLS as a Markdown table: each command, its actions and their statement, why, and when. */
export function explainTable(): string {
  const rows = Object.entries({ ...SDK_CALLS, ...SIDECAR_CALLS }).map(([command, call]) => {
    const grants = call.grants
      .map((g) => `${g.actions.map((a) => `\`${a}\``).join(", ")} (${STATEMENTS[g.on]})`)
      .join(", ");
    return `| ${command} | ${grants} | ${call.why} | ${SWITCHES[call.feature]} |`;
  });
  return [
    "| SDK command | IAM actions (statement) | why | when |",
    "| --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
