// Entry point of `npm start`: the service with the settings from the environment.
import { SettingsError } from "./config/settings.ts";
import { serve } from "./serve.ts";

serve().catch((error: unknown) => {
  console.error(error instanceof SettingsError ? error.message : error);
  process.exit(1);
});
