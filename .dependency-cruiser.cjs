// Import boundaries of src/ (npm run lint, so CI): the folders in data-flow order, lowest first. A module may
// import from a lower layer only: never from a higher one, and never from a sibling of its own layer, so that
// the folder tree and the import graph tell the same story (docs/architecture.md).
const LAYERS = [
  ["contracts", "config", "errors.ts", "text"], // shared interfaces, settings, error types
  ["models", "retrieval", "telemetry"], // model factories; search algorithms over any store; traces
  ["store", "ingest"], // store implementations; loaders, sources and the indexing pipeline
  ["chains", "tenants"], // qa chains, variants, evaluation; the tenant registry and its Tenant type
  ["agent", "auth", "jobs"], // the advisor and its tools; API keys; ingestion jobs and their queues
  ["server"], // Fastify: plugins, routes
  ["services"], // the composition root: which implementations run
  ["commands", "serve.ts"], // CLI commands and the server's start
  ["cli.ts", "main.ts"], // entry points
];

const escape = (name) => name.replace(/\./g, "\\.");
const pathOf = (names) => `^src/(${names.map(escape).join("|")})(/|$)`;

const forbidden = [];
LAYERS.forEach((layer, i) => {
  const higher = LAYERS.slice(i + 1).flat();
  if (higher.length > 0)
    forbidden.push({
      name: `layer-${i + 1}-imports-up`,
      comment: `${layer.join(", ")} may not import a higher layer (${higher.join(", ")})`,
      severity: "error",
      from: { path: pathOf(layer) },
      to: { path: pathOf(higher) },
    });
  for (const name of layer) {
    const siblings = layer.filter((other) => other !== name);
    if (siblings.length > 0)
      forbidden.push({
        name: `${name}-imports-sibling`,
        comment: `${name} may not import its own layer's ${siblings.join(", ")}: move the shared part lower`,
        severity: "error",
        from: { path: pathOf([name]) },
        to: { path: pathOf(siblings) },
      });
  }
});

forbidden.push(
  {
    name: "no-circular",
    comment: "modules that import each other in a loop cannot be understood (or tested) apart",
    severity: "error",
    from: { path: "^src/" },
    to: { circular: true },
  },
  {
    name: "src-imports-tests",
    comment: "the service never depends on tests, fixtures or benchmarks",
    severity: "error",
    from: { path: "^src/" },
    to: { path: "^(test|bench)/" },
  },
  {
    name: "unlayered-folder",
    comment: "every folder of src/ has a layer in .dependency-cruiser.cjs",
    severity: "error",
    from: { path: "^src/", pathNot: pathOf(LAYERS.flat()) },
    to: {},
  },
);

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "\\.test\\.ts$" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".mjs"] },
  },
};
