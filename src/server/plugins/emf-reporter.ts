// CloudWatch metrics written as Embedded Metric Format documents on the log stream (METRICS_FORMAT=emf): on ECS
// with the awslogs driver, CloudWatch Logs extracts them into metrics with no agent, no PutMetricData call and no
// credentials. aws-embedded-metrics builds and splits the documents (100 values a metric, 100 metrics a document);
// this module groups what the service observes by dimensions and writes one document per group a minute, where
// the library alone would write one per observation.
import { MetricsLogger } from "aws-embedded-metrics";
import type { IEnvironment } from "aws-embedded-metrics/lib/environment/IEnvironment.js";
import type { MetricsContext } from "aws-embedded-metrics/lib/logger/MetricsContext.js";
import { LogSerializer } from "aws-embedded-metrics/lib/serializers/LogSerializer.js";

/** CloudWatch units of the metrics Counsel writes. */
export type EmfUnit = "Count" | "Percent" | "Milliseconds" | "None";

export interface EmfReporterOptions {
  /** CloudWatch namespace of every metric. */
  namespace: string;
  /** How often the documents are written, in ms. Default 60,000 (CloudWatch's standard resolution). */
  intervalMs?: number;
  /** Where each document goes, a line each: the process's standard output (the log stream) by default. */
  write?: (line: string) => void;
}

type Dimensions = Record<string, string>;

/** What a group (one set of dimension values) gathered since the last write. */
interface Group {
  dimensions: Dimensions[];
  /** Summed: one value a write (counts, tokens, cost). */
  sums: Map<string, { value: number; unit: EmfUnit }>;
  /** Kept one by one, so that CloudWatch has percentiles (latencies, sampled gauges). */
  values: Map<string, { values: number[]; unit: EmfUnit }>;
}

/**
 * @example
 * const emf = new EmfReporter({ namespace: "Counsel" });
 * emf.observe({ Route: "POST /chain/qa" }, "Latency", 84, "Milliseconds");
 * emf.add({ Model: "amazon.nova-lite-v1:0" }, "InputTokens", 1200, "Count");
 * await emf.close(); // writes what is left
 */
export class EmfReporter {
  private groups = new Map<string, Group>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly environment: IEnvironment;
  private readonly gauges: [name: string, read: () => number][] = [];
  private readonly beforeFlush: (() => void)[] = [];

  constructor(private readonly options: EmfReporterOptions) {
    const write = options.write ?? ((line: string) => process.stdout.write(line));
    const serializer = new LogSerializer();
    // The library's own environments probe for Lambda, ECS or EC2 (over the network) to choose a sink and add
    // their dimensions: here the sink is always the log stream, and the dimensions are the service's own.
    this.environment = {
      probe: async () => true,
      getName: () => options.namespace,
      getType: () => "Counsel",
      getLogGroupName: () => "",
      configureContext: () => undefined,
      getSink: () => ({
        name: "CounselLogStream",
        accept: async (context: MetricsContext) => {
          for (const document of serializer.serialize(context)) write(`${document}\n`);
        },
      }),
    };
    const intervalMs = options.intervalMs ?? 60_000;
    const sample = () => {
      for (const [name, read] of this.gauges) this.observe({}, name, read(), "Count");
    };
    this.timers.push(setInterval(() => void this.flush(), intervalMs).unref());
    this.timers.push(setInterval(sample, intervalMs / 10).unref());
  }

  /** A service-wide gauge (requests waiting…), read ten times an interval: its average, maximum and percentiles. */
  gauge(name: string, read: () => number): void {
    this.gauges.push([name, read]);
  }

  /** Runs `derive` before each write: for metrics computed from the interval's others (a hit rate). */
  onFlush(derive: () => void): void {
    this.beforeFlush.push(derive);
  }

  /**
   * Adds `value` to a metric summed over the interval. Each dimension set given is a metric of its own, written
   * from the same value (the service-wide figure beside the per-route one, say).
   */
  add(dimensions: Dimensions | Dimensions[], name: string, value: number, unit: EmfUnit): void {
    const sums = this.group(dimensions).sums;
    const sum = sums.get(name);
    if (sum) sum.value += value;
    else sums.set(name, { value, unit });
  }

  /** Records one value of a metric whose distribution matters (CloudWatch computes its percentiles). */
  observe(dimensions: Dimensions | Dimensions[], name: string, value: number, unit: EmfUnit): void {
    const values = this.group(dimensions).values;
    const metric = values.get(name);
    if (metric) metric.values.push(value);
    else values.set(name, { values: [value], unit });
  }

  /** Writes what was gathered since the last write: one document (or more, past the format's limits) a group. */
  async flush(): Promise<void> {
    for (const derive of this.beforeFlush) derive();
    const groups = [...this.groups.values()];
    this.groups = new Map();
    await Promise.all(
      groups.map((group) => {
        const logger = new MetricsLogger(async () => this.environment);
        logger.setNamespace(this.options.namespace);
        logger.setDimensions(group.dimensions, false);
        for (const [name, { value, unit }] of group.sums) logger.putMetric(name, value, unit);
        for (const [name, { values, unit }] of group.values) {
          for (const value of values) logger.putMetric(name, value, unit);
        }
        return logger.flush();
      }),
    );
  }

  /** Stops the timers and writes what is left. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.flush();
  }

  private group(dimensions: Dimensions | Dimensions[]): Group {
    const sets = Array.isArray(dimensions) ? dimensions : [dimensions];
    const key = JSON.stringify(sets);
    let group = this.groups.get(key);
    if (!group) {
      group = { dimensions: sets, sums: new Map(), values: new Map() };
      this.groups.set(key, group);
    }
    return group;
  }
}
