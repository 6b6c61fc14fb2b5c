// The variants side by side: a column each, a row per figure, the best value of each comparable row marked in
// words and weight (never by colour alone). It is also the chart's text alternative.
import { best, FIGURES, type VariantStats } from "./stats.ts";

export function StatsTable({ id, chain, variants }: { id: string; chain: string; variants: VariantStats[] }) {
  return (
    // A focusable region, so that a keyboard can scroll a table wider than a phone.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: scrollable regions must be reachable by keyboard (WCAG 2.1.1)
    <section className="stats-scroll" aria-labelledby={`${id}-caption`} tabIndex={0}>
      <table id={id} className="stats-table">
        <caption id={`${id}-caption`}>
          The variants of <strong>{chain}</strong> on live traffic. <span className="best">Best</span> marks
          the best variant on each rate; totals (requests, thumbs, tokens, cost) grow with a variant's share
          of the traffic and are not ranked.
        </caption>
        <thead>
          <tr>
            <th scope="col">Figure</th>
            {variants.map((s) => (
              <th scope="col" key={s.variant}>
                {s.variant}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {FIGURES.map((figure) => {
            const winners = best(figure, variants);
            return (
              <tr key={figure.id} data-figure={figure.id}>
                <th scope="row">{figure.label}</th>
                {variants.map((s) => {
                  const value = figure.value(s);
                  const isBest = winners.has(s.variant);
                  return (
                    <td key={s.variant} data-variant={s.variant} className={isBest ? "is-best" : undefined}>
                      {value === null ? (
                        <span className="value missing">{figure.missing}</span>
                      ) : (
                        <span className="value">{figure.format(value)}</span>
                      )}
                      {isBest ? <span className="best">best</span> : null}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
