// Keeps the task role's policy honest: what Counsel's source calls on AWS (scanned from src/) and what the policy
// grants must match, action for action.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type * as iam from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import { readParameters } from "../lib/parameters.ts";
import {
  counselPolicyDocument,
  counselPolicyStatements,
  enabledFeatures,
  explainTable,
  modelArns,
  type PolicyTargets,
  placeholderTargets,
} from "../lib/policy.ts";
import { type Feature, LANGCHAIN_AWS_CLASSES, SDK_CALLS, SIDECAR_CALLS } from "../lib/sdk-calls.ts";
import { STAGING_PREFIX } from "../lib/service.ts";
import { commandsIn, scanSource } from "../lib/source-scan.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const found = scanSource(path.join(ROOT, "src"));
const LANGCHAIN_DIST = path.join(ROOT, "node_modules/@langchain/aws/dist");

/** Every command Counsel sends: its own, and those of the LangChain classes it uses. */
const called = new Set([
  ...found.commands.keys(),
  ...[...found.langchainAws.keys()].flatMap((name) => LANGCHAIN_AWS_CLASSES[name]?.commands ?? []),
]);

const ACCOUNT = { partition: "aws", region: "us-east-1", account: "123456789012" };
const BUCKET = "arn:aws:s3:::counsel-documents";
const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const everything: PolicyTargets = {
  ...ACCOUNT,
  chatModelIds: ["us.amazon.nova-micro-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"],
  embeddingModelId: "amazon.titan-embed-text-v2:0",
  guardrailId: "gr0abc1def2g",
  rerankModelId: "amazon.rerank-v1:0",
  bucketArn: BUCKET,
  stagingPrefix: "counsel/textract/",
  keyArn: KEY,
  textract: true,
  comprehend: true,
  traces: true,
};

type Rendered = { Sid: string; Action: string | string[]; Resource: string | string[] };
const render = (statements: iam.PolicyStatement[]) => statements.map((s) => s.toStatementJson() as Rendered);
const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
const actionsOf = (statements: iam.PolicyStatement[]) =>
  new Set(render(statements).flatMap((s) => list(s.Action)));
/** The actions the commands need, and what the collector beside Counsel calls, for the features on. */
const actionsNeededBy = (commands: Iterable<string>, features: Set<Feature>) =>
  new Set([
    ...[...commands]
      .filter((command) => command in SDK_CALLS && features.has(SDK_CALLS[command].feature))
      .flatMap((command) => SDK_CALLS[command].grants.flatMap((g) => g.actions)),
    ...Object.values(SIDECAR_CALLS)
      .filter((call) => features.has(call.feature))
      .flatMap((call) => call.grants.flatMap((g) => g.actions)),
  ]);

describe("Counsel's AWS calls, read from src/", () => {
  it("finds the SDK commands and LangChain classes it is known to use", () => {
    expect([...found.commands.keys()]).toEqual(
      expect.arrayContaining([
        "GetObjectCommand",
        "RerankCommand",
        "ApplyGuardrailCommand",
        "AnalyzeDocumentCommand",
      ]),
    );
    expect([...found.langchainAws.keys()]).toEqual(
      expect.arrayContaining(["ChatBedrockConverse", "BedrockEmbeddings"]),
    );
  });

  it("has an IAM mapping for every AWS SDK command the source constructs", () => {
    const unmapped = [...found.commands].filter(([command]) => !(command in SDK_CALLS));
    expect(unmapped, "add these to SDK_CALLS in infra/lib/sdk-calls.ts (command: files)").toEqual([]);
  });

  it("has an IAM mapping for every @langchain/aws class the source imports", () => {
    const unmapped = [...found.langchainAws].filter(([name]) => !(name in LANGCHAIN_AWS_CLASSES));
    expect(unmapped, "add these to LANGCHAIN_AWS_CLASSES in infra/lib/sdk-calls.ts").toEqual([]);
  });

  it("uses no paginator, waiter or multipart Upload, whose commands the scan cannot see", () => {
    expect([...found.helpers], "map the commands these send in infra/lib/sdk-calls.ts").toEqual([]);
  });

  it("still sends every command the IAM table grants something for", () => {
    const stale = Object.keys(SDK_CALLS).filter((command) => !called.has(command));
    expect(stale, "no code sends these: remove them from SDK_CALLS").toEqual([]);
  });

  it.skipIf(!existsSync(LANGCHAIN_DIST))(
    "reads from @langchain/aws itself which commands its classes send (root node_modules installed)",
    () => {
      for (const { module, commands } of Object.values(LANGCHAIN_AWS_CLASSES)) {
        expect(commandsIn(path.join(LANGCHAIN_DIST, `${module}.js`)), module).toEqual([...commands].sort());
      }
    },
  );
});

describe("the task role's policy", () => {
  it("grants exactly the actions the called commands need when every feature is on", () => {
    const statements = counselPolicyStatements(everything);
    expect([...actionsOf(statements)].sort()).toEqual(
      [...actionsNeededBy(called, enabledFeatures(everything))].sort(),
    );
  });

  it("grants InvokeModel, InvokeModelWithResponseStream, ApplyGuardrail and Rerank for Converse, ConverseStream, guardrails and reranking", () => {
    const actions = actionsOf(counselPolicyStatements(everything));
    for (const action of [
      "bedrock:InvokeModel",
      "bedrock:InvokeModelWithResponseStream",
      "bedrock:ApplyGuardrail",
      "bedrock:Rerank",
    ])
      expect(actions).toContain(action);
    expect(
      [...actions].filter((a) => a.startsWith("bedrock:Converse")),
      "not IAM actions",
    ).toEqual([]);
  });

  it.each([
    ["textract", { textract: false }, ["textract:", "s3:PutObject"]],
    ["comprehend", { comprehend: false }, ["comprehend:"]],
    ["guardrail", { guardrailId: undefined }, ["bedrock:ApplyGuardrail"]],
    ["rerank", { rerankModelId: undefined }, ["bedrock:Rerank"]],
  ] as const)("leaves out %s's actions when it is off", (feature, off, gone) => {
    const targets = { ...everything, ...off };
    const actions = actionsOf(counselPolicyStatements(targets));
    expect(enabledFeatures(targets).has(feature)).toBe(false);
    expect([...actions].sort()).toEqual([...actionsNeededBy(called, enabledFeatures(targets))].sort());
    for (const prefix of gone) expect([...actions].filter((a) => a.startsWith(prefix))).toEqual([]);
  });

  it("asks for no wildcard resource except where IAM takes none (Rerank, Textract, Comprehend, X-Ray)", () => {
    const wildcards = render(counselPolicyStatements(everything)).filter((s) =>
      list(s.Resource).includes("*"),
    );
    expect(wildcards.map((s) => s.Sid).sort()).toEqual([
      "BedrockRerank",
      "ComprehendPii",
      "Textract",
      "XRayTraces",
    ]);
    for (const s of wildcards) expect(list(s.Resource)).toEqual(["*"]);
    expect(render(counselPolicyStatements(everything)).flatMap((s) => list(s.Action))).not.toContain("*");
  });

  it("reads the named bucket, writes only under the staging prefix and uses only the stack's key", () => {
    const bySid = Object.fromEntries(render(counselPolicyStatements(everything)).map((s) => [s.Sid, s]));
    expect(bySid.S3ListBucket).toMatchObject({ Action: "s3:ListBucket", Resource: BUCKET });
    expect(bySid.S3ReadObjects).toMatchObject({ Action: "s3:GetObject", Resource: `${BUCKET}/*` });
    expect(bySid.S3StageForTextract).toMatchObject({
      Action: "s3:PutObject",
      Resource: `${BUCKET}/counsel/textract/*`,
    });
    expect(bySid.KmsStackKey).toMatchObject({
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: KEY,
    });
  });

  it("keeps the stack key's GenerateDataKey and Decrypt with every optional feature off: DATA_DIR's data key needs them", () => {
    const bare = {
      ...everything,
      textract: false,
      comprehend: false,
      guardrailId: undefined,
      rerankModelId: undefined,
    };
    const bySid = Object.fromEntries(render(counselPolicyStatements(bare)).map((s) => [s.Sid, s]));
    expect(bySid.KmsStackKey).toMatchObject({
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: KEY,
    });
  });

  it("scopes the guardrail and the models to their ARNs", () => {
    const bySid = Object.fromEntries(render(counselPolicyStatements(everything)).map((s) => [s.Sid, s]));
    expect(bySid.BedrockGuardrail.Resource).toBe(
      "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr0abc1def2g",
    );
    expect(bySid.BedrockEmbeddingModel).toMatchObject({
      Action: "bedrock:InvokeModel",
      Resource: "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
    });
    expect(bySid.BedrockRerankModel.Resource).toBe(
      "arn:aws:bedrock:us-east-1::foundation-model/amazon.rerank-v1:0",
    );
    expect(list(bySid.BedrockChatModels.Resource)).toEqual([
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-micro-v1:0",
      "arn:aws:bedrock:*::foundation-model/amazon.nova-micro-v1:0",
      "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    ]);
  });
});

describe("modelArns", () => {
  it.each([
    [
      "amazon.titan-embed-text-v2:0",
      ["arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"],
    ],
    [
      "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
      [
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0",
      ],
    ],
    [
      "global.anthropic.claude-sonnet-4-20250514-v1:0",
      [
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-20250514-v1:0",
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
      ],
    ],
    [
      "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc",
      ["arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc"],
    ],
  ])("grants %s as %j", (id, arns) => {
    expect(modelArns(id, ACCOUNT)).toEqual(arns);
  });
});

describe("docs/aws-deployment.md", () => {
  const doc = readFileSync(path.join(ROOT, "docs/aws-deployment.md"), "utf8");

  it("shows the policy `npm run policy` prints with every optional feature on", () => {
    const command = /npm run policy --prefix infra -- ((?:-c \S+ ?)+)`\):\s*```json\n([\s\S]*?)\n```/.exec(
      doc,
    );
    expect(command, "the policy's JSON block after its command").not.toBeNull();
    const context = Object.fromEntries(
      [...(command as RegExpExecArray)[1].matchAll(/-c (\w+)=(\S+)/g)].map((m) => [m[1], m[2]]),
    );
    const parameters = readParameters({ tryGetContext: (key) => context[key] });
    const printed = counselPolicyDocument(placeholderTargets(parameters, STAGING_PREFIX)).toJSON();
    expect(JSON.parse((command as RegExpExecArray)[2])).toEqual(printed);
  });

  it("explains every action with the table `npm run policy -- --explain` prints", () => {
    expect(doc).toContain(explainTable());
  });
});
