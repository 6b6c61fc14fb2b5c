// `counsel keys`: make, list and revoke API keys in the keys file (API_KEYS_FILE, else DATA_DIR/api-keys.json).
// A running service reads the change within seconds. A new key is printed once; only its hash is written.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import type { KeyRecord } from "../auth/api-keys.ts";
import { SCOPES, type Scope } from "../auth/scopes.ts";
import type { Settings } from "../config/settings.ts";

export interface KeysCommandDeps {
  loadEnv(): Promise<Settings>;
  tenantId(value: string): string;
}

export function keysCommand(deps: KeysCommandDeps): Command {
  const fileOf = async (given?: string) =>
    given ? path.resolve(given) : (await deps.loadEnv()).auth.keysFile;
  // The keys file's parser is imported when a subcommand runs, so that --help loads none of it.
  const keyFile = () => import("../auth/api-keys.ts");
  const read = async (file: string): Promise<KeyRecord[]> =>
    existsSync(file) ? (await keyFile()).readKeyFile(file) : [];
  const command = new Command("keys").description(
    "API keys: each names a tenant and scopes (query, chat, ingest, admin)",
  );

  command
    .command("create")
    .description("make a key and print it (once); the keys file keeps only its hash")
    .requiredOption("-t, --tenant <id>", "the tenant the key acts for", deps.tenantId)
    .requiredOption("-s, --scopes <list>", `comma-separated: ${SCOPES.join(", ")}`, scopeList)
    .option("-n, --name <text>", "who or what the key is for")
    .option("-f, --file <path>", "the keys file (default: API_KEYS_FILE, else DATA_DIR/api-keys.json)")
    .option("--json", "print the key and its record as JSON")
    .action(
      async (options: { tenant: string; scopes: Scope[]; name?: string; file?: string; json?: boolean }) => {
        const file = await fileOf(options.file);
        const keys = await read(file);
        const { newKey, writeKeyFile } = await keyFile();
        const { key, record } = newKey(options);
        await mkdir(path.dirname(file), { recursive: true });
        await writeKeyFile(file, [...keys, record]);
        if (options.json) {
          console.log(
            JSON.stringify({ key, id: record.id, tenant: record.tenant, scopes: record.scopes, file }),
          );
          return;
        }
        console.log(key);
        console.error(
          `key ${record.id} for tenant ${record.tenant} (${record.scopes.join(", ")}) written to ${file}; ` +
            "the key above is not stored anywhere: keep it now. A service that started without a keys file runs " +
            "open until it is restarted.",
        );
      },
    );

  command
    .command("list")
    .description("the keys in the file (ids, tenants, scopes; never the keys)")
    .option("-f, --file <path>", "the keys file")
    .action(async (options: { file?: string }) => {
      for (const k of await read(await fileOf(options.file))) {
        const state = k.revokedAt ? `revoked ${k.revokedAt}` : "active";
        console.log(`${k.id}  ${k.tenant}  ${k.scopes.join(",")}  ${state}${k.name ? `  ${k.name}` : ""}`);
      }
    });

  command
    .command("revoke")
    .description("revoke a key by its id (the running service refuses it within seconds)")
    .argument("<id>", "the key's id (the 12 characters after ck_)")
    .option("-f, --file <path>", "the keys file")
    .action(async (id: string, options: { file?: string }) => {
      const file = await fileOf(options.file);
      const keys = await read(file);
      const { KeyFileError, writeKeyFile } = await keyFile();
      const key = keys.find((k) => k.id === id);
      if (!key) throw new KeyFileError(`No key ${id} in ${file}.`);
      key.revokedAt ??= new Date().toISOString();
      await writeKeyFile(file, keys);
      console.error(`key ${id} (tenant ${key.tenant}) revoked`);
    });

  return command;
}

function scopeList(value: string): Scope[] {
  const scopes = value.split(",").map((s) => s.trim());
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0 || scopes.length === 0) {
    throw new InvalidArgumentError(`unknown scope ${unknown.join(", ")}; scopes are ${SCOPES.join(", ")}`);
  }
  return scopes as Scope[];
}
