// The longest message or question a turn reads, whichever protocol brings it (POST /advisor/chat, the AI SDK's
// and the OpenAI-compatible routes).
export const MAX_MESSAGE_CHARS = 8000;
