// The synthesised template: encryption at rest and in transit, data stores private and reachable from the tasks
// only, the task role's one policy, the health check, scaling, the dashboard and alarms, and the settings the
// container gets (each one Counsel has).
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { App, Aws } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { CounselStack } from "../lib/counsel-stack.ts";
import { readParameters } from "../lib/parameters.ts";
import { counselPolicyDocument } from "../lib/policy.ts";
import { KEYS_FILE, STAGING_PREFIX } from "../lib/service.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SETTINGS = readFileSync(path.join(ROOT, "src/config/settings.ts"), "utf8");
/** The environment variables src/config/settings.ts reads: the keys of its schema. */
const SETTING_NAMES = new Set([...SETTINGS.matchAll(/^ {2}([A-Z][A-Z0-9_]*): /gm)].map((m) => m[1]));

// biome-ignore lint/suspicious/noExplicitAny: a template's properties are whatever JSON CloudFormation takes
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** cdk.json's context (feature flags): the tests synthesise what `cdk synth` does. */
const CDK_CONTEXT = JSON.parse(readFileSync(path.join(ROOT, "infra/cdk.json"), "utf8")).context;

function synth(context: Record<string, unknown> = {}) {
  // An image URI: the Dockerfile asset needs no Docker to synthesise, but copying the repository is slow.
  const app = new App({ context: { ...CDK_CONTEXT, imageUri: "example/counsel:test", ...context } });
  const stack = new CounselStack(app, "Counsel", { parameters: readParameters(app.node) });
  const template = Template.fromStack(stack);
  return { stack, template, resources: template.toJSON().Resources as Resources };
}

function only(resources: Resources, type: string) {
  const found = Object.entries(resources).filter(([, r]) => r.Type === type);
  expect(
    found.map(([id]) => id),
    type,
  ).toHaveLength(1);
  return { id: found[0][0], ...found[0][1] };
}

/** The policies attached to the task definition's task role. */
function taskRolePolicies(resources: Resources) {
  const task = only(resources, "AWS::ECS::TaskDefinition");
  const role = task.Properties.TaskRoleArn["Fn::GetAtt"][0] as string;
  const policies = Object.values(resources).filter(
    (r) => r.Type === "AWS::IAM::Policy" && r.Properties.Roles.some((r: { Ref: string }) => r.Ref === role),
  );
  return { role: resources[role], policies };
}

const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ "Fn::GetAtt": [id, "Arn"] });

/** Subnets with no route to an internet gateway or NAT, and no public addresses. */
function expectIsolated(resources: Resources, subnetRefs: { Ref: string }[]) {
  expect(subnetRefs.length).toBeGreaterThanOrEqual(2);
  for (const { Ref: subnet } of subnetRefs) {
    expect(resources[subnet].Type).toBe("AWS::EC2::Subnet");
    expect(resources[subnet].Properties.MapPublicIpOnLaunch).toBe(false);
    const association = Object.values(resources).find(
      (r) => r.Type === "AWS::EC2::SubnetRouteTableAssociation" && r.Properties.SubnetId.Ref === subnet,
    );
    const table = association?.Properties.RouteTableId.Ref;
    const routesOut = Object.values(resources).filter(
      (r) => r.Type === "AWS::EC2::Route" && r.Properties.RouteTableId.Ref === table,
    );
    expect(routesOut, `${subnet} routes`).toEqual([]);
  }
}

/** The security group admits the Redis port from the service's group, and nothing else. */
function expectReachableOnlyFromService(resources: Resources, groupIds: unknown[]) {
  expect(groupIds).toHaveLength(1);
  const group = (groupIds[0] as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
  expect(resources[group].Properties.SecurityGroupIngress ?? []).toEqual([]);
  const ingress = Object.values(resources).filter(
    (r) => r.Type === "AWS::EC2::SecurityGroupIngress" && r.Properties.GroupId["Fn::GetAtt"]?.[0] === group,
  );
  expect(ingress).toHaveLength(1);
  expect(ingress[0].Properties).toMatchObject({ IpProtocol: "tcp", FromPort: 6379, ToPort: 6379 });
  expect(ingress[0].Properties.CidrIp).toBeUndefined();
  const source = ingress[0].Properties.SourceSecurityGroupId["Fn::GetAtt"][0];
  expect(resources[source].Properties.GroupDescription).toBe("Counsel tasks");
}

describe("the default stack (MemoryDB)", () => {
  let built: ReturnType<typeof synth>;
  beforeAll(() => {
    built = synth();
  });

  it("encrypts the documents bucket with the stack's rotating key, blocks public access and refuses plain HTTP", () => {
    const { template, resources } = built;
    const key = only(resources, "AWS::KMS::Key");
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const bucket = only(resources, "AWS::S3::Bucket");
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      {
        BucketKeyEnabled: true,
        ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: arnOf(key.id) },
      },
    ]);
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("expires Textract's staged copies under the prefix Counsel stages them (TEXTRACT_S3_PREFIX's default)", () => {
    expect(SETTINGS).toMatch(
      new RegExp(`TEXTRACT_S3_PREFIX: z[\\s\\S]*?\\.default\\("${STAGING_PREFIX}"\\)`),
    );
    const bucket = only(built.resources, "AWS::S3::Bucket");
    expect(bucket.Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ Prefix: STAGING_PREFIX, ExpirationInDays: 7, Status: "Enabled" }),
    );
  });

  it("runs MemoryDB with vector search, TLS and the stack's key, in isolated subnets, reachable from the tasks only", () => {
    const { resources } = built;
    const key = only(resources, "AWS::KMS::Key");
    const cluster = only(resources, "AWS::MemoryDB::Cluster");
    expect(cluster.Properties).toMatchObject({
      TLSEnabled: true,
      KmsKeyId: arnOf(key.id),
      Engine: "redis",
      EngineVersion: "7.1",
      ParameterGroupName: "default.memorydb-redis7.search",
      NumShards: 1,
      NodeType: "db.t4g.small",
    });
    expect(cluster.Properties.ACLName).not.toBe("open-access");
    const subnets = only(resources, "AWS::MemoryDB::SubnetGroup");
    expectIsolated(resources, subnets.Properties.SubnetIds);
    expectReachableOnlyFromService(resources, cluster.Properties.SecurityGroupIds);
    const user = only(resources, "AWS::MemoryDB::User");
    expect(user.Properties.AuthenticationMode.Type).toBe("password");
    expect(JSON.stringify(user.Properties.AuthenticationMode.Passwords)).toContain("resolve:secretsmanager");
  });

  it("attaches exactly one policy to the task role: the generated one", () => {
    const { stack, resources } = built;
    const { role, policies: attached } = taskRolePolicies(resources);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    expect(attached).toHaveLength(1);
    const generated = counselPolicyDocument({
      partition: Aws.PARTITION,
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
      chatModelIds: ["us.amazon.nova-micro-v1:0"],
      embeddingModelId: "amazon.titan-embed-text-v2:0",
      bucketArn: stack.storage.bucket.bucketArn,
      stagingPrefix: STAGING_PREFIX,
      keyArn: stack.storage.key.keyArn,
      textract: true,
      comprehend: false,
      traces: true,
    });
    expect(attached[0].Properties.PolicyDocument).toEqual(stack.resolve(generated));
    expect(JSON.stringify(attached[0].Properties.PolicyDocument)).not.toContain("comprehend:");
    expect(JSON.stringify(attached[0].Properties.PolicyDocument)).not.toContain("bedrock:ApplyGuardrail");
  });

  it("runs the OpenTelemetry collector beside Counsel, which sends it traces on loopback and X-Ray gets", () => {
    const { resources } = built;
    const [counsel, collector] = only(resources, "AWS::ECS::TaskDefinition").Properties.ContainerDefinitions;
    expect(collector).toMatchObject({ Name: "otel-collector", Essential: false });
    expect(collector.Image).toContain("aws-otel-collector");
    const config = collector.Environment.find((e: { Name: string }) => e.Name === "AOT_CONFIG_CONTENT").Value;
    expect(config).toContain("endpoint: 127.0.0.1:4318");
    expect(config).toContain("exporters: [awsxray]");
    const env = Object.fromEntries(
      counsel.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]),
    );
    expect(env).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      OTEL_SERVICE_NAME: "counsel",
    });
    expect(counsel.DependsOn).toEqual([{ ContainerName: "otel-collector", Condition: "START" }]);
    const policy = JSON.stringify(taskRolePolicies(resources).policies[0].Properties.PolicyDocument);
    expect(policy).toContain("xray:PutTraceSegments");
  });

  it("checks each task's readiness on /readyz at the load balancer", () => {
    built.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      HealthCheckPath: "/readyz",
      Matcher: { HttpCode: "200" },
      Port: 3000,
    });
  });

  it("keeps /metrics, which Counsel serves without a key, from the internet", () => {
    built.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::ListenerRule", {
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/metrics"] } }],
      Actions: [
        Match.objectLike({
          Type: "fixed-response",
          FixedResponseConfig: Match.objectLike({ StatusCode: "404" }),
        }),
      ],
    });
  });

  it("gives the container only settings Counsel has, its secrets from Secrets Manager, and logs to CloudWatch", () => {
    const { resources } = built;
    const task = only(resources, "AWS::ECS::TaskDefinition");
    const [container] = task.Properties.ContainerDefinitions;
    const env = Object.fromEntries(
      container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]),
    );
    const unknown = Object.keys(env).filter(
      (name) => !SETTING_NAMES.has(name) && !name.startsWith("BOOT_") && name !== "AWS_REGION",
    );
    expect(SETTING_NAMES).toContain("REDIS_URL");
    expect(unknown, "not in src/config/settings.ts").toEqual([]);
    expect(env).toMatchObject({
      HOST: "0.0.0.0",
      PORT: "3000",
      MODEL_PROVIDER: "bedrock",
      MODEL_ID: "us.amazon.nova-micro-v1:0",
      EMBEDDINGS_PROVIDER: "bedrock",
      EMBEDDINGS_MODEL: "amazon.titan-embed-text-v2:0",
      VECTOR_STORE: "redis-search",
      REDIS_CLUSTER: "true",
      TEXTRACT_ENABLED: "true",
      TEXTRACT_S3_BUCKET: ref(only(resources, "AWS::S3::Bucket").id),
      TEXTRACT_S3_PREFIX: STAGING_PREFIX,
      S3_KMS_KEY_ID: { "Fn::GetAtt": [only(resources, "AWS::KMS::Key").id, "Arn"] },
      DATA_KMS_KEY_ID: { "Fn::GetAtt": [only(resources, "AWS::KMS::Key").id, "Arn"] },
      API_KEYS_FILE: KEYS_FILE,
      METRICS_FORMAT: "emf",
      METRICS_NAMESPACE: "Counsel",
    });
    const cluster = only(resources, "AWS::MemoryDB::Cluster").id;
    expect(JSON.stringify(env.BOOT_REDIS_ADDRESS)).toContain(`"${cluster}","ClusterEndpoint.Address"`);
    expect(container.Command.join(" ")).toContain('REDIS_URL="rediss://');

    const secrets = Object.fromEntries(
      container.Secrets.map((s: { Name: string; ValueFrom: { Ref: string } }) => [s.Name, s.ValueFrom.Ref]),
    );
    expect(Object.keys(secrets).sort()).toEqual(["BOOT_API_KEYS", "BOOT_REDIS_PASSWORD"]);
    expect(resources[secrets.BOOT_API_KEYS].Properties.GenerateSecretString).toMatchObject({
      SecretStringTemplate: '{"keys":[]}',
      GenerateStringKey: "generated",
    });
    for (const secret of Object.values(secrets)) {
      expect(resources[secret].Type).toBe("AWS::SecretsManager::Secret");
      expect(resources[secret].Properties.KmsKeyId).toEqual(arnOf(only(resources, "AWS::KMS::Key").id));
    }

    const logGroup = only(resources, "AWS::Logs::LogGroup");
    expect(container.LogConfiguration).toMatchObject({
      LogDriver: "awslogs",
      Options: { "awslogs-group": ref(logGroup.id) },
    });
    expect(logGroup.Properties).toMatchObject({
      RetentionInDays: 30,
      KmsKeyId: arnOf(only(resources, "AWS::KMS::Key").id),
    });
  });

  it("runs tasks without a NAT gateway, reachable from the load balancer only", () => {
    const { template, resources } = built;
    template.resourceCountIs("AWS::EC2::NatGateway", 0);
    const service = only(resources, "AWS::ECS::Service");
    expect(service.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe("ENABLED");
    const [group] = service.Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups;
    const id = group["Fn::GetAtt"][0];
    expect(resources[id].Properties.SecurityGroupIngress ?? []).toEqual([]);
    const ingress = Object.values(resources).filter(
      (r) => r.Type === "AWS::EC2::SecurityGroupIngress" && r.Properties.GroupId["Fn::GetAtt"]?.[0] === id,
    );
    expect(ingress.length).toBeGreaterThan(0);
    for (const rule of ingress) {
      expect(rule.Properties).toMatchObject({ FromPort: 3000, ToPort: 3000 });
      const source = rule.Properties.SourceSecurityGroupId["Fn::GetAtt"][0];
      expect(resources[source].Properties.GroupDescription).toBe("Counsel load balancer");
    }
  });

  it("scales between the minimum and maximum task counts on CPU, requests per task and requests waiting", () => {
    const { template } = built;
    template.hasResourceProperties("AWS::ECS::Service", { DesiredCount: 1 });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", {
      MinCapacity: 1,
      MaxCapacity: 4,
    });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: "ECSServiceAverageCPUUtilization" },
        TargetValue: 60,
      }),
    });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: "ALBRequestCountPerTarget" }),
        TargetValue: 120,
      }),
    });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        CustomizedMetricSpecification: Match.objectLike({
          Namespace: "Counsel",
          MetricName: "RequestsWaiting",
          Statistic: "Average",
        }),
        TargetValue: 4,
      }),
    });
  });

  it("has a dashboard and alarms on 5xx rate, p99 latency, Bedrock throttling and ingestion failures", () => {
    const { template, resources } = built;
    const dashboard = JSON.stringify(only(resources, "AWS::CloudWatch::Dashboard").Properties.DashboardBody);
    expect(dashboard).toContain('\\"Counsel\\",\\"RequestsWaiting\\"');
    const alarms = Object.values(resources).filter((r) => r.Type === "AWS::CloudWatch::Alarm");
    const metricsOf = (alarm: (typeof alarms)[number]) =>
      JSON.stringify(alarm.Properties.Metrics ?? [alarm.Properties]);
    const find = (text: string) => alarms.filter((a) => metricsOf(a).includes(text));
    expect(find("HTTPCode_Target_5XX_Count")).toHaveLength(1);
    expect(find("HTTPCode_ELB_5XX_Count")).toHaveLength(1);
    expect(find("TargetResponseTime")[0].Properties).toMatchObject({
      ExtendedStatistic: "p99",
      Threshold: 10,
    });
    expect(find('"AWS/Bedrock"')).toHaveLength(1);
    expect(metricsOf(find("InvocationThrottles")[0])).toContain("us.amazon.nova-micro-v1:0");
    expect(metricsOf(find("IngestFailures")[0])).toContain(
      '"MetricName":"IngestFailures","Namespace":"Counsel"',
    );
    expect(find("HealthyHostCount")).toHaveLength(1);
    const topic = only(resources, "AWS::SNS::Topic");
    expect(topic.Properties.KmsMasterKeyId).toEqual(arnOf(only(resources, "AWS::KMS::Key").id));
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([ref(topic.id)]);
    template.resourceCountIs("AWS::SNS::Subscription", 0);
  });
});

describe("choices", () => {
  it("runs ElastiCache for Valkey with TLS, an AUTH token and the stack's key, in isolated subnets, from the tasks only", () => {
    const { resources, template } = synth({ redis: "elasticache" });
    template.resourceCountIs("AWS::MemoryDB::Cluster", 0);
    const group = only(resources, "AWS::ElastiCache::ReplicationGroup");
    expect(group.Properties).toMatchObject({
      Engine: "valkey",
      EngineVersion: "8.2",
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: "required",
      AtRestEncryptionEnabled: true,
      KmsKeyId: arnOf(only(resources, "AWS::KMS::Key").id),
      CacheNodeType: "cache.t4g.medium",
      ClusterMode: "enabled",
    });
    expect(JSON.stringify(group.Properties.AuthToken)).toContain("resolve:secretsmanager");
    expectIsolated(resources, only(resources, "AWS::ElastiCache::SubnetGroup").Properties.SubnetIds);
    expectReachableOnlyFromService(resources, group.Properties.SecurityGroupIds);
  });

  it("serves HTTPS with the given certificate and redirects HTTP to it", () => {
    const certificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
    const { template } = synth({ certificateArn });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 443,
      Protocol: "HTTPS",
      Certificates: [{ CertificateArn: certificateArn }],
    });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 80,
      DefaultActions: [
        Match.objectLike({ Type: "redirect", RedirectConfig: Match.objectLike({ Protocol: "HTTPS" }) }),
      ],
    });
  });

  it("maps the parameters to Counsel's settings and to the policy", () => {
    const { resources } = synth({
      chatModelId: "anthropic.claude-3-haiku-20240307-v1:0",
      embeddingModelId: "cohere.embed-multilingual-v3",
      textract: "false",
      comprehendPii: "true",
      guardrailId: "gr0abc1def2g",
      guardrailVersion: "2",
      minCount: "2",
      desiredCount: "2",
      maxCount: "6",
      alarmEmail: "ops@example.com",
      traces: "false",
    });
    const containers = only(resources, "AWS::ECS::TaskDefinition").Properties.ContainerDefinitions;
    expect(containers).toHaveLength(1); // no collector without traces
    const [container] = containers;
    const env = Object.fromEntries(
      container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]),
    );
    expect(env).toMatchObject({
      MODEL_ID: "anthropic.claude-3-haiku-20240307-v1:0",
      EMBEDDINGS_MODEL: "cohere.embed-multilingual-v3",
      TEXTRACT_ENABLED: "false",
    });
    const policy = JSON.stringify(taskRolePolicies(resources).policies[0].Properties.PolicyDocument);
    expect(policy).toContain("comprehend:DetectPiiEntities");
    expect(policy).toContain("guardrail/gr0abc1def2g");
    expect(policy).not.toContain("textract:");
    expect(policy).not.toContain("s3:PutObject");
    expect(policy).not.toContain("xray:");
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(only(resources, "AWS::ApplicationAutoScaling::ScalableTarget").Properties).toMatchObject({
      MinCapacity: 2,
      MaxCapacity: 6,
    });
    expect(only(resources, "AWS::SNS::Subscription").Properties).toMatchObject({
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
  });
});
