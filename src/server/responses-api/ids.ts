/**
 * Ids of the Responses API, made from the request id so that a response, its
 * items and the request log row name the same call: `req_X` answers as
 * `resp_X`, whose message item is `msg_X` and whose function calls are
 * `fc_X_0`, `fc_X_1`...
 */
const suffix = (requestId: string) => requestId.replace(/^req_/, "");

export const responseId = (requestId: string) => `resp_${suffix(requestId)}`;
/** The answer's message item; a stream that writes text again after a tool call opens a second (`msg_X_1`). */
export const messageItemId = (requestId: string, n = 0) => `msg_${suffix(requestId)}${n > 0 ? `_${n}` : ""}`;
export const callItemId = (requestId: string, i: number) => `fc_${suffix(requestId)}_${i}`;

/** The response an item id belongs to, or undefined for an id Switchyard did not make. */
export function responseIdOfItem(itemId: string): string | undefined {
  const m = /^(?:msg_([0-9a-f]+)(?:_\d+)?|fc_([0-9a-f]+)_\d+)$/.exec(itemId);
  const s = m?.[1] ?? m?.[2];
  return s ? `resp_${s}` : undefined;
}
