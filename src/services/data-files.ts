// How DATA_DIR's stores keep their files: sealed with the data key KMS unwraps when DATA_KMS_KEY_ID is set (a
// DATA_DIR written before is sealed first), plain otherwise. A part of the composition root: opened once per
// process, before any store, and handed to each.
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../contracts/stores.ts";
import type { DataFiles } from "../store/at-rest/data-files.ts";
import { unlockDataKey } from "../store/at-rest/data-key.ts";
import { plainFiles } from "../store/at-rest/plain-files.ts";
import { sealDataDir } from "../store/at-rest/seal-data-dir.ts";
import { sealedFiles } from "../store/at-rest/sealed-files.ts";

export async function openDataFiles(
  settings: Pick<Settings, "dataDir" | "dataKmsKeyId">,
  log: Logger,
): Promise<DataFiles> {
  const dataKey = await unlockDataKey({ dataDir: settings.dataDir, keyId: settings.dataKmsKeyId });
  if (!dataKey) return plainFiles;
  const files = sealedFiles(dataKey.key);
  const { sealed, removed } = await sealDataDir(settings.dataDir, files);
  if (sealed + removed > 0) {
    log.info(
      `DATA_DIR (${settings.dataDir}) is now encrypted at rest under KMS key ${dataKey.keyId}: ${sealed} files ` +
        `sealed${removed > 0 ? `, ${removed} saved graphs removed (built again when searched)` : ""}.`,
    );
  }
  return files;
}
