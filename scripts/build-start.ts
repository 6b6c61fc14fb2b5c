// What `npm start` runs before the service: the console (web/dist) and the service (dist/) rebuilt where their
// sources changed, so that a clone, a pull or an edit starts what its sources say.
import { buildServer } from "./build-server.ts";
import { buildWeb } from "./build-web.ts";

await buildWeb();
const started = performance.now();
const { compiled, unchanged, removed } = await buildServer();
if (compiled + removed > 0) {
  console.log(
    `service: ${compiled} modules compiled to dist/, ${unchanged} unchanged, ${removed} removed ` +
      `(${Math.round(performance.now() - started)} ms)`,
  );
}
