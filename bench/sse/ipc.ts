// The messages between bench/sse.ts and its two helper processes (the emulator and the clients), and a way to
// ask a child process a question and await its answer.
import type { ChildProcess } from "node:child_process";

/** The stream a client reads: Counsel's SSE, the OpenAI-compatible stream, the AI SDK's UI message stream, or
 * the model's own stream straight from the emulator (the noise floor: the same two processes, no service). */
export type StreamKind = "sse" | "openai" | "ui" | "floor";

export type EmulatorRequest =
  | { type: "pace"; id: number; frameDelayMs: number }
  | { type: "first-text"; id: number; messages: string[] }
  | { type: "stop" };
export type EmulatorReply =
  | { type: "ready"; endpoint: string }
  | { type: "paced"; id: number }
  | { type: "first-text"; id: number; at: Record<string, number> };

export interface FirstToken {
  message: string;
  /** Wall-clock ms when the client read its first token. */
  at: number;
  /** Wall-clock ms when the client sent its request. */
  sent: number;
}

export type ClientsRequest =
  | { type: "open"; id: number; kind: StreamKind; url: string; count: number; prefix: string; hold?: boolean }
  | { type: "close" };
export type ClientsReply =
  | { type: "first-tokens"; id: number; firstTokens: FirstToken[]; failed: number }
  /** `ms`: from the first request sent to the last stream ended. */
  | { type: "done"; id: number; ms: number };

let nextId = 1;

/** A fresh request id. */
export const requestId = () => nextId++;

/** Resolves with the first reply of `type` that carries `id`; rejects if the child exits first. */
export function reply<R extends { type: string; id?: number }>(
  child: ChildProcess,
  id: number,
  type: R["type"],
): Promise<R> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: R) => {
      if (message.type !== type || message.id !== id) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => reject(new Error(`bench helper exited (${code})`));
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/** Sends a request and awaits its one reply. */
export function ask<R extends { type: string; id?: number }>(
  child: ChildProcess,
  request: Record<string, unknown>,
  type: R["type"],
): Promise<R> {
  const id = requestId();
  const answer = reply<R>(child, id, type);
  child.send({ ...request, id });
  return answer;
}
