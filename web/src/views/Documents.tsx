// The Documents view (to be built): a placeholder until then.
import { Placeholder } from "./Placeholder.tsx";

export function Documents() {
  return (
    <Placeholder
      title="Documents"
      plan="The knowledge base's documents (GET /documents), and uploads to it."
    />
  );
}
