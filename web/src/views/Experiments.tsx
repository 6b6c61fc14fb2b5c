// Experiments: a qa chain's variants compared on live traffic (GET /chains/:name/stats, as the service computes
// them) in a table and a chart of the figure the person picks. Opens on the first chain with runs.
import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { api, messageOf } from "../api.ts";
import { ErrorAlert } from "../components/ErrorAlert.tsx";
import { StatsTable } from "../experiments/StatsTable.tsx";
import { CHART_FIGURES, type ChainStats } from "../experiments/stats.ts";
import "./experiments.css";

interface ChainInfo {
  name: string;
  type: string;
  variants: { name: string; weight: number; description?: string }[];
}

const TABLE_ID = "experiments-table";

// recharts is most of the console's weight: fetched when a chart is first shown, not with every page. A chunk
// that cannot be fetched (the service was updated since this page loaded) says so instead of blanking the page.
const StatsChart = lazy(() =>
  import("../experiments/StatsChart.tsx").then(
    (module) => ({ default: module.StatsChart }),
    () => ({
      default: () => (
        <p role="alert" className="error">
          The chart could not be loaded: reload the page. The table above has every figure.
        </p>
      ),
    }),
  ),
);

const statsOf = (name: string, signal?: AbortSignal) =>
  api<ChainStats>(`/chains/${encodeURIComponent(name)}/stats`, { signal });

export function Experiments() {
  // Only qa chains record runs (the advisor's turns are not experiments).
  const [chains, setChains] = useState<ChainInfo[] | null>(null);
  const [stats, setStats] = useState<Record<string, ChainStats>>({});
  const [chain, setChain] = useState("");
  const [metric, setMetric] = useState(CHART_FIGURES[0].id);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Said once a refresh lands, for people who cannot see the table change.
  const [refreshed, setRefreshed] = useState("");

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    (async () => {
      const { chains: all } = await api<{ chains: ChainInfo[] }>("/chains", { signal });
      const qa = all.filter((c) => c.type === "qa");
      const loaded = await Promise.all(qa.map((c) => statsOf(c.name, signal)));
      setChains(qa);
      setStats(Object.fromEntries(loaded.map((s) => [s.chain, s])));
      setChain((loaded.find((s) => s.variants.length > 0) ?? loaded[0])?.chain ?? "");
    })().catch((e: unknown) => {
      if (!signal.aborted) setError(`The experiments could not be loaded: ${messageOf(e)}`);
    });
    return () => controller.abort();
  }, []);

  const refresh = useCallback(async () => {
    setError(null);
    setRefreshed("");
    setBusy(true);
    try {
      const fresh = await statsOf(chain);
      setStats((current) => ({ ...current, [chain]: fresh }));
      setRefreshed(`Stats of ${chain} refreshed at ${new Date().toLocaleTimeString()}.`);
    } catch (e) {
      setError(`The stats could not be refreshed: ${messageOf(e)}`);
    } finally {
      setBusy(false);
    }
  }, [chain]);

  const current = stats[chain];
  const info = chains?.find((c) => c.name === chain);
  const figure = CHART_FIGURES.find((f) => f.id === metric) ?? CHART_FIGURES[0];
  const withRuns = new Set(current?.variants.map((v) => v.variant));
  const idle = info?.variants.filter((v) => !withRuns.has(v.name)) ?? [];

  return (
    <section aria-labelledby="experiments-title" className="experiments">
      <h2 id="experiments-title">Experiments</h2>
      <p className="lead">
        Each variant of a chain on the questions people asked: how often it answered, how its answers were
        rated, how fast, and what it cost.
      </p>
      <ErrorAlert message={error} />
      {chains === null ? (
        error ? null : (
          <p aria-live="polite">Loading the chains…</p>
        )
      ) : chains.length === 0 ? (
        <p>No qa chains are configured: add one to chains/ and it will be listed here.</p>
      ) : (
        <>
          <div className="row experiments-controls">
            <div className="field">
              <label htmlFor="experiments-chain">Chain</label>
              <select id="experiments-chain" value={chain} onChange={(e) => setChain(e.target.value)}>
                {chains.map((c) => (
                  <option key={c.name} value={c.name}>
                    {c.name} ({stats[c.name]?.variants.length ? "has runs" : "no runs yet"})
                  </option>
                ))}
              </select>
            </div>
            <button type="button" className="secondary" onClick={refresh} disabled={busy || !chain}>
              {busy ? "Refreshing…" : "Refresh"}
            </button>
          </div>
          <p role="status" className="hint">
            {refreshed}
          </p>
          {/* Not a live region: a whole table read out on every refresh or pick would drown the reader. */}
          <div aria-busy={busy}>
            {!current || current.variants.length === 0 ? (
              <p className="empty">
                No runs yet: <a href="#/ask">ask a question in Ask</a>, then come back.
              </p>
            ) : (
              <>
                <StatsTable id={TABLE_ID} chain={chain} variants={current.variants} />
                {idle.length > 0 ? (
                  <p className="hint">
                    Configured but not answering yet: {idle.map((v) => v.name).join(", ")}.
                  </p>
                ) : null}
                <div className="field metric-field">
                  <label htmlFor="experiments-metric">Compare on</label>
                  <select
                    id="experiments-metric"
                    value={figure.id}
                    onChange={(e) => setMetric(e.target.value)}
                  >
                    {CHART_FIGURES.map((f) => (
                      <option key={f.id} value={f.id}>
                        {f.label}
                      </option>
                    ))}
                  </select>
                </div>
                <Suspense fallback={<p className="hint">Loading the chart…</p>}>
                  <StatsChart figure={figure} variants={current.variants} tableId={TABLE_ID} />
                </Suspense>
              </>
            )}
          </div>
          {info && info.variants.length > 0 ? (
            <>
              <h3>Variants of {chain}</h3>
              <dl className="variant-list">
                {info.variants.map((v) => (
                  <div key={v.name}>
                    <dt>{v.name}</dt>
                    <dd>{v.description ?? "No description in chains/."}</dd>
                  </div>
                ))}
              </dl>
            </>
          ) : null}
        </>
      )}
    </section>
  );
}
