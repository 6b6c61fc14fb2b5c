// A process's memory as the kernel counts it (native allocations included, not only V8's), for the benchmarks.
import { readFile } from "node:fs/promises";

/** A /proc/<pid>/status field in bytes (VmRSS: resident now; VmHWM: the peak since start or the last reset). */
export async function procStatus(pid: number | "self", field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}
