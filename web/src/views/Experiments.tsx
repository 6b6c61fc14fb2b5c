// The Experiments view (to be built): a placeholder until then.
import { Placeholder } from "./Placeholder.tsx";

export function Experiments() {
  return (
    <Placeholder
      title="Experiments"
      plan="Each chain's variants compared on feedback, latency and cost (GET /chains/:name/stats)."
    />
  );
}
