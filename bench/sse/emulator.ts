// The Bedrock emulator of bench/sse.ts, in a process of its own so that writing the model's frames does not
// share the service's event loop. Told over IPC how fast to stream; asked over IPC when it wrote each stream's
// first text delta (wall-clock ms, comparable across processes on one machine).
import { BedrockRuntimeEmulator } from "../../test/emulators/bedrock-runtime.ts";
import type { EmulatorReply, EmulatorRequest } from "./ipc.ts";

const options = { frameDelayMs: 10 };
const emulator = new BedrockRuntimeEmulator(options);
const endpoint = await emulator.start();

const send = (reply: EmulatorReply) => process.send?.(reply);
process.on("message", (request: EmulatorRequest) => {
  if (request.type === "pace") {
    options.frameDelayMs = request.frameDelayMs;
    send({ type: "paced", id: request.id });
  } else if (request.type === "first-text") {
    const wanted = new Set(request.messages);
    const at: Record<string, number> = {};
    for (const r of emulator.requests) {
      const message = (r.body as { messages?: { content: { text?: string }[] }[] }).messages?.[0]?.content[0]
        ?.text;
      // A turn's first model call is the one whose first text is the turn's first token.
      if (message !== undefined && wanted.has(message) && !(message in at) && r.firstTextAt !== undefined)
        at[message] = performance.timeOrigin + r.firstTextAt;
    }
    send({ type: "first-text", id: request.id, at });
  } else if (request.type === "stop") {
    void emulator.stop().then(() => process.exit(0));
  }
});
send({ type: "ready", endpoint });
