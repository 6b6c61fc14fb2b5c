// The Chat view (to be built): a placeholder until then.
import { Placeholder } from "./Placeholder.tsx";

export function Chat() {
  return (
    <Placeholder
      title="Chat"
      plan="A conversation with the advisor (POST /advisor/ui), streamed, with its tool calls and sources."
    />
  );
}
