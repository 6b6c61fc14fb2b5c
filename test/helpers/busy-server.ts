// A Fastify server whose POST /work keeps the event loop busy for WORK_MS, as a question over the in-process
// index does, behind the fair-turns plugin (route marked with FAIR_TURN=1). Run in its own process by
// test/server/fair-turns.test.ts, so that the test's clients are not stalled by the loop they measure.
// Prints its port on stdout; GET /started lists the request numbers in the order the server read them and in
// the order their work started, and how many requests each connection had served.
import Fastify from "fastify";
import { errorsPlugin } from "../../src/server/plugins/errors.ts";
import { fairTurnsPlugin } from "../../src/server/plugins/fair-turns.ts";
import { metricsPlugin } from "../../src/server/plugins/metrics.ts";

const fairTurn = process.env.FAIR_TURN === "1";
const workMs = Number(process.env.WORK_MS ?? 20);
const app = Fastify();
await app.register(errorsPlugin);
await app.register(metricsPlugin);
await app.register(fairTurnsPlugin, { maxWaiting: Number(process.env.MAX_WAITING ?? 1000) });
const arrived: number[] = [];
const started: number[] = [];
// Before the fair-turns wait: the order in which the server read the requests.
app.addHook("preValidation", async (request) => {
  const body = request.body as { n?: number } | undefined;
  if (request.url === "/work" && body?.n !== undefined) arrived.push(body.n);
});
const servedPerConnection = new Map<number, number>();
app.post<{ Body: { n: number } }>("/work", { config: { fairTurn } }, async (request) => {
  started.push(request.body.n);
  const port = request.socket.remotePort ?? 0;
  servedPerConnection.set(port, (servedPerConnection.get(port) ?? 0) + 1);
  const until = performance.now() + workMs;
  while (performance.now() < until);
  return { n: request.body.n };
});
app.get("/healthz", async () => ({ ok: true }));
app.get("/started", async () => ({
  arrived,
  started,
  waiting: app.turns.length,
  servedPerConnection: [...servedPerConnection.values()],
}));
await app.listen({ port: 0, host: "127.0.0.1" });
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`);
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
