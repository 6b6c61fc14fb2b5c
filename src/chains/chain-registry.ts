// The chains the service serves, built from chains/*.yaml and prompts/*.md, and rebuilt when those files
// change: an edit takes effect without a restart, and an edit that does not load (bad YAML, an unknown field, a
// missing prompt) is logged and ignored, the last good chains serving on.
import { type FSWatcher, watch } from "node:fs";
import { BadRequestError, NotFoundError, UnavailableError } from "../errors.ts";
import { type ChainConfig, loadChainConfigs, type ModelDefaults } from "./config.ts";
import type { QaChainHandle } from "./qa-handle.ts";

export interface ChainSet<Advisor> {
  configs: Map<string, ChainConfig>;
  qa: Map<string, QaChainHandle>;
  advisors: Map<string, Advisor | UnavailableError>;
}

export interface ChainRegistryOptions<Advisor> {
  chainsDir: string;
  promptsDir: string;
  defaults: ModelDefaults;
  buildQa(config: ChainConfig): Promise<QaChainHandle>;
  buildAdvisors(configs: ChainConfig[]): Promise<Map<string, Advisor | UnavailableError>>;
  log: { info(message: string): void; warn(message: string): void };
}

/** A change to several files at once (an editor's save, a git checkout) becomes one reload. */
const SETTLE_MS = 200;

export class ChainRegistry<Advisor> {
  private current: ChainSet<Advisor>;
  private watchers: FSWatcher[] = [];
  private timer?: NodeJS.Timeout;
  private reloading: Promise<boolean> = Promise.resolve(true);

  private constructor(
    private readonly options: ChainRegistryOptions<Advisor>,
    first: ChainSet<Advisor>,
  ) {
    this.current = first;
  }

  /** Loads the chains; at start a chain that does not load stops the service (there is no last good one). */
  static async open<Advisor>(options: ChainRegistryOptions<Advisor>): Promise<ChainRegistry<Advisor>> {
    return new ChainRegistry(options, await build(options));
  }

  get configs(): Map<string, ChainConfig> {
    return this.current.configs;
  }

  qaChain(name: string): QaChainHandle {
    const { qa, configs } = this.current;
    const handle = qa.get(name);
    if (handle) return handle;
    if (configs.has(name)) throw new BadRequestError(`Chain "${name}" is not a qa chain.`);
    throw new NotFoundError(`No chain named "${name}". Chains: ${[...qa.keys()].join(", ")}.`);
  }

  qaChains(): QaChainHandle[] {
    return [...this.current.qa.values()];
  }

  advisor(name: string): Advisor {
    const { advisors, configs } = this.current;
    const entry = advisors.get(name);
    if (entry instanceof UnavailableError) throw entry;
    if (entry) return entry;
    if (configs.has(name)) throw new BadRequestError(`Chain "${name}" is not an advisor chain.`);
    throw new NotFoundError(
      `No advisor chain named "${name}". Advisors: ${[...advisors.keys()].join(", ")}.`,
    );
  }

  /** Rebuilds every chain from the files; false (and the old chains kept) when they do not load. */
  reload(): Promise<boolean> {
    this.reloading = this.reloading.then(async () => {
      try {
        this.current = await build(this.options);
        this.options.log.info(`chains reloaded: ${[...this.current.configs.keys()].join(", ")}`);
        return true;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        this.options.log.warn(`chains not reloaded, the last good ones keep serving: ${reason}`);
        return false;
      }
    });
    return this.reloading;
  }

  /** Reloads when a file in chains/ or prompts/ changes. */
  watch(): void {
    const changed = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), SETTLE_MS);
      this.timer.unref();
    };
    for (const dir of new Set([this.options.chainsDir, this.options.promptsDir])) {
      const watcher = watch(dir, changed);
      watcher.on("error", (error) => this.options.log.warn(`cannot watch ${dir}: ${error.message}`));
      watcher.unref();
      this.watchers.push(watcher);
    }
  }

  close(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }
}

async function build<Advisor>(options: ChainRegistryOptions<Advisor>): Promise<ChainSet<Advisor>> {
  const configs = await loadChainConfigs(options.chainsDir, options.defaults);
  const qa = new Map<string, QaChainHandle>();
  for (const config of configs.values()) {
    if (config.type === "qa") qa.set(config.name, await options.buildQa(config));
  }
  if (!qa.has("qa")) throw new Error(`${options.chainsDir} has no qa chain named "qa" (chains/qa.yaml)`);
  const advisors = await options.buildAdvisors([...configs.values()]);
  return { configs, qa, advisors };
}
