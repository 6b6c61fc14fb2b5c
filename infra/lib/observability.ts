// A dashboard and alarms: 5xx rate and p99 latency at the load balancer, no healthy task, Bedrock throttling of
// the stack's models, and failed ingestions (an EMF metric Counsel emits: INGEST_FAILURES below). Alarms notify an
// SNS topic, encrypted with the stack's key.
import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import type { Parameters } from "./parameters.ts";
import type { Redis } from "./redis.ts";
import type { CounselService } from "./service.ts";

/**
 * The metric the service emits for each document whose ingestion failed, in CloudWatch's embedded metric format
 * (a log line): namespace Counsel, name IngestFailures, unit Count, no dimensions.
 */
export const INGEST_FAILURES = { namespace: "Counsel", metricName: "IngestFailures" } as const;

/**
 * The questions, chats and ingestions waiting for their turn in a process (Counsel's fair turns), sampled ten
 * times a minute in each task's EMF documents: namespace Counsel, no dimensions, so its average is per task.
 */
export const REQUESTS_WAITING = {
  namespace: INGEST_FAILURES.namespace,
  metricName: "RequestsWaiting",
} as const;

const FIVE_MINUTES = Duration.minutes(5);

export interface ObservabilityProps {
  parameters: Parameters;
  service: CounselService;
  redis: Redis;
  key: kms.IKey;
}

export class Observability extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly topic: sns.Topic;
  readonly alarms: Record<
    "errors" | "latency" | "unhealthy" | "throttles" | "ingestFailures",
    cloudwatch.Alarm
  >;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { parameters: p, service } = props;
    const alb = service.loadBalancer.metrics;
    const targets = service.targetGroup.metrics;

    props.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsToEncryptedTopic",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
      }),
    );
    this.topic = new sns.Topic(this, "Alarms", { displayName: "Counsel alarms", masterKey: props.key });
    if (p.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(p.alarmEmail));

    const requests = alb.requestCount({ period: FIVE_MINUTES });
    const target5xx = alb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: FIVE_MINUTES });
    const elb5xx = alb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: FIVE_MINUTES });
    const errorRate = new cloudwatch.MathExpression({
      label: "5xx, % of requests",
      expression: "100 * (FILL(t5xx, 0) + FILL(elb5xx, 0)) / requests",
      usingMetrics: { t5xx: target5xx, elb5xx, requests },
      period: FIVE_MINUTES,
    });
    const p99 = targets.targetResponseTime({ statistic: "p99", period: FIVE_MINUTES });
    const healthy = targets.healthyHostCount({ statistic: "Minimum", period: Duration.minutes(1) });

    const models = [...new Set([p.chatModelId, ...p.additionalModelIds, p.embeddingModelId])];
    const bedrock = (metricName: string, model: string, statistic = "Sum") =>
      new cloudwatch.Metric({
        namespace: "AWS/Bedrock",
        metricName,
        dimensionsMap: { ModelId: model },
        statistic,
        period: FIVE_MINUTES,
        label: model,
      });
    const throttles = new cloudwatch.MathExpression({
      label: "Bedrock throttles, the stack's models",
      expression: models.map((_, i) => `FILL(m${i}, 0)`).join(" + "),
      usingMetrics: Object.fromEntries(
        models.map((model, i) => [`m${i}`, bedrock("InvocationThrottles", model)]),
      ),
      period: FIVE_MINUTES,
    });
    const ingestFailures = new cloudwatch.Metric({
      ...INGEST_FAILURES,
      statistic: "Sum",
      period: FIVE_MINUTES,
      label: "documents failed",
    });

    this.alarms = {
      errors: errorRate.createAlarm(this, "ErrorRate", {
        alarmDescription:
          "More than 5% of requests answered 5xx (target or load balancer) in 2 of 3 5-minute periods",
        threshold: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      latency: p99.createAlarm(this, "P99Latency", {
        alarmDescription: `p99 target response time above ${p.p99LatencySeconds} s for 15 minutes (time to the first byte: a streamed answer counts until it starts)`,
        threshold: p.p99LatencySeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      unhealthy: healthy.createAlarm(this, "NoHealthyTask", {
        alarmDescription: "No task passes /readyz for 3 minutes: Counsel or one of its dependencies is down",
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      throttles: throttles.createAlarm(this, "BedrockThrottles", {
        alarmDescription:
          "Bedrock throttled the stack's models 10 times or more in 2 of 3 5-minute periods (the SDK retries " +
          "each; callers see 503 model_busy once retries run out): ask for a higher quota or a cross-region profile",
        threshold: 10,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      ingestFailures: ingestFailures.createAlarm(this, "IngestFailures", {
        alarmDescription: `Documents failed ingestion (${INGEST_FAILURES.namespace}/${INGEST_FAILURES.metricName}, emitted by Counsel)`,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };
    for (const alarm of Object.values(this.alarms)) {
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarm.addOkAction(new actions.SnsAction(this.topic));
    }

    const redis = (metricName: string, label: string) =>
      new cloudwatch.MathExpression({
        label,
        // Node-level metrics, whatever their dimensions (MemoryDB: ClusterName, NodeName; ElastiCache: CacheClusterId).
        expression: `SEARCH('Namespace="${props.redis.metrics.namespace}" MetricName="${metricName}" "${props.redis.metrics.name}"', 'Maximum', 300)`,
        usingMetrics: {},
        period: FIVE_MINUTES,
      });

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `${Stack.of(this).stackName}-counsel`,
      defaultInterval: Duration.hours(6),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: "Alarms",
        alarms: Object.values(this.alarms),
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Requests and 5xx",
        left: [requests, target5xx, elb5xx],
        right: [errorRate],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Target response time (time to first byte)",
        left: [targets.targetResponseTime({ statistic: "p50", period: FIVE_MINUTES }), p99],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Tasks: healthy, CPU and memory",
        left: [healthy],
        right: [service.service.metricCpuUtilization(), service.service.metricMemoryUtilization()],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Bedrock invocations and throttles",
        left: models.map((model) => bedrock("Invocations", model)),
        right: [throttles],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Bedrock latency (average, ms)",
        left: models.map((model) => bedrock("InvocationLatency", model, "Average")),
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: "Ingestion failures", left: [ingestFailures], width: 8 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Requests waiting for their turn, per task",
        left: (["Average", "Maximum"] as const).map(
          (statistic) =>
            new cloudwatch.Metric({ ...REQUESTS_WAITING, statistic, period: Duration.minutes(1) }),
        ),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Redis engine CPU (%)",
        left: [redis("EngineCPUUtilization", "engine CPU")],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Redis memory used (%)",
        left: [redis("DatabaseMemoryUsagePercentage", "memory used")],
        width: 8,
      }),
    );
  }
}
