// One bar per variant on the figure the person picks (recharts). The table is its text alternative: the figure
// points at it with aria-describedby, and a variant without a value is named in words under the chart.
import {
  Bar,
  BarChart,
  CartesianGrid,
  LabelList,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import type { Figure, VariantStats } from "./stats.ts";

// --accent of styles.css: an SVG fill attribute cannot read a CSS variable.
const BAR = "#0b5cad";

export function StatsChart({
  figure,
  variants,
  tableId,
}: {
  figure: Figure;
  variants: VariantStats[];
  tableId: string;
}) {
  const data = variants.map((s) => ({ variant: s.variant, value: figure.value(s) }));
  const missing = data.filter((d) => d.value === null).map((d) => d.variant);
  const format = (value: unknown) => (typeof value === "number" ? figure.format(value) : "");
  return (
    <figure className="stats-chart" aria-labelledby="stats-chart-caption" aria-describedby={tableId}>
      <figcaption id="stats-chart-caption">
        {figure.label} by variant (the table above has every figure)
      </figcaption>
      <div className="stats-chart-box">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart
            data={data}
            margin={{ top: 24, right: 8, bottom: 8, left: 8 }}
            title={`${figure.label} by variant`}
          >
            <CartesianGrid vertical={false} stroke="#d0d7de" />
            <XAxis dataKey="variant" interval={0} />
            <YAxis tickFormatter={format} width={72} domain={figure.domain ?? [0, "auto"]} />
            <Tooltip formatter={format} cursor={{ fill: "#f6f8fa" }} />
            {/* No animation: the bars stand for numbers to compare, drawn at once (and for reduced motion). A
                zero still gets a sliver and its label, so that it reads as 0 and not as missing. */}
            <Bar
              dataKey="value"
              name={figure.label}
              fill={BAR}
              isAnimationActive={false}
              maxBarSize={96}
              minPointSize={2}
            >
              <LabelList dataKey="value" position="top" formatter={format} />
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      {missing.length > 0 ? (
        <p className="hint">
          No bar for {missing.join(", ")}: {figure.missing}.
        </p>
      ) : null}
    </figure>
  );
}
