// The deployment's parameters: defaults, the engine's node types, and a clear error naming each bad value.
import { describe, expect, it } from "vitest";
import { DEFAULTS, ParameterError, readParameters } from "../lib/parameters.ts";

const read = (context: Record<string, unknown>) => readParameters({ tryGetContext: (key) => context[key] });

describe("readParameters", () => {
  it("deploys Bedrock models, MemoryDB, Textract and one task by default", () => {
    expect(read({})).toMatchObject({
      chatModelId: DEFAULTS.chatModelId,
      embeddingModelId: "amazon.titan-embed-text-v2:0",
      additionalModelIds: [],
      guardrail: undefined,
      rerankModelId: undefined,
      textract: true,
      comprehendPii: false,
      redis: "memorydb",
      redisNodeType: "db.t4g.small",
      redisReplicas: 0,
      desiredCount: 1,
      minCount: 1,
      maxCount: 4,
      cpu: 1024,
      memoryMiB: 2048,
    });
  });

  it("takes the values `cdk -c` gives as text, and typed ones from cdk.json", () => {
    const fromCli = read({
      textract: "false",
      maxCount: "8",
      redis: "elasticache",
      additionalModelIds: "a, b",
    });
    const fromJson = read({ textract: false, maxCount: 8, redis: "elasticache", additionalModelIds: "a,b" });
    for (const p of [fromCli, fromJson]) {
      expect(p).toMatchObject({
        textract: false,
        maxCount: 8,
        redis: "elasticache",
        redisNodeType: "cache.t4g.medium",
      });
      expect(p.additionalModelIds).toEqual(["a", "b"]);
    }
  });

  it("defaults a guardrail's version to DRAFT", () => {
    expect(read({ guardrailId: "gr0abc1def2g" }).guardrail).toEqual({ id: "gr0abc1def2g", version: "DRAFT" });
  });

  it.each([
    [{ redis: "valkey" }, "redis: expected memorydb or elasticache"],
    [
      { redis: "elasticache", redisNodeType: "db.r7g.large" },
      "redisNodeType: elasticache node types start with cache.",
    ],
    [{ textract: "yes please" }, "textract: expected true or false"],
    [{ cpu: 1000 }, "cpu: Fargate takes"],
    [{ cpu: 1024, memoryMiB: 1024 }, "memoryMiB: 1024 MiB is not a Fargate size for 1024 CPU units"],
    [{ minCount: 3, maxCount: 2, desiredCount: 3 }, "minCount: 3 is above maxCount 2"],
    [{ desiredCount: 9 }, "desiredCount: 9 is outside minCount..maxCount (1..4)"],
    [{ guardrailVersion: "1" }, "guardrailVersion: set guardrailId too"],
    [
      { guardrailId: "g", guardrailVersion: "latest" },
      "guardrailVersion: expected DRAFT or a version number",
    ],
    [{ logRetentionDays: 10 }, "logRetentionDays: CloudWatch Logs keeps"],
    [{ ingressCidr: "everyone" }, "ingressCidr: expected an IPv4 CIDR range"],
    [{ certificateArn: "my-cert" }, "certificateArn: expected an ACM certificate ARN"],
    [{ alarmEmail: "ops" }, "alarmEmail: expected an email address"],
  ])("refuses %j", (context, message) => {
    expect(() => read(context)).toThrow(ParameterError);
    expect(() => read(context)).toThrow(message);
  });

  it("names every bad value at once", () => {
    expect(() => read({ cpu: 3, redis: "x" })).toThrow(/cpu:[\s\S]*redis:|redis:[\s\S]*cpu:/);
  });
});
