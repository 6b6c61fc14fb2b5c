// How every local emulator listens and stops: on a free port of 127.0.0.1, and closed at once, with its open
// (kept-alive) connections, so that a test's end never waits on an idle socket of the SDK under test.
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Server } from "node:net";

/** Listens on a free loopback port; resolves to the server's base URL. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes an HTTP server and every connection it still holds. */
export async function closeNow(server: HttpServer | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/**
 * An HTTP/1.1 emulator on loopback: `start` listens on a free port and resolves to its base URL, `stop` closes it
 * with its open connections (a stalled body would otherwise keep `close` waiting), `handle` answers each request.
 */
export abstract class HttpEmulator {
  private server?: HttpServer;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    return listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeNow(this.server);
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}
