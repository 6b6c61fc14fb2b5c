// The AI SDK's chat request, as `useChat` (DefaultChatTransport) sends it to POST /advisor/ui: the chat's id and
// its whole conversation as UI messages, plus Counsel's `chain` and `sessionId`. Parts are read for their text
// only; the other kinds (tool, source, data, step parts of earlier answers) pass unread.
import Type, { type Static } from "typebox";
import { NAME, SESSION_ID } from "../../schemas/names.ts";

const ID = { minLength: 1, maxLength: 200 };

export const UIMessagePart = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 200 }),
    text: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: "A part of a message; `text` parts give the message its text." },
);

export const UIMessageIn = Type.Object(
  {
    id: Type.String(ID),
    role: Type.Enum(["system", "user", "assistant"]),
    parts: Type.Array(UIMessagePart, { maxItems: 1000 }),
    metadata: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
/** A message as validated: its parts keep whatever else they hold. */
export type UIMessageIn = Omit<Static<typeof UIMessageIn>, "parts"> & {
  parts: (Static<typeof UIMessagePart> & Record<string, unknown>)[];
};

export const UIChatBody = Type.Object(
  {
    id: Type.String({
      ...ID,
      description: "The chat's id (useChat's); the service keeps no state under it.",
    }),
    messages: Type.Array(UIMessageIn, {
      minItems: 1,
      maxItems: 1000,
      description: "The whole conversation, oldest first; the last is the user's new message.",
    }),
    trigger: Type.Optional(Type.Enum(["submit-message", "regenerate-message"])),
    messageId: Type.Optional(Type.String(ID)),
    chain: Type.Optional(Type.String({ pattern: NAME, description: "An advisor chain; default advisor." })),
    sessionId: Type.Optional(
      Type.String({
        pattern: SESSION_ID,
        description:
          "Keep the conversation in this session (GET /advisor/sessions/:id), as POST /advisor/chat does: the " +
          "history is the session's, so only the last message is read (send it alone).",
      }),
    ),
  },
  { additionalProperties: false },
);
export type UIChatBody = Static<typeof UIChatBody>;
