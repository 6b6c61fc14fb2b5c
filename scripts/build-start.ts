// What `npm start` runs before the service: the console (web/dist) and the service (dist/) rebuilt where their
// sources changed, so that a clone, a pull or an edit starts what its sources say.
import { buildServer } from "./build-server.ts";
import { buildWeb } from "./build-web.ts";

await buildWeb();
await buildServer();
