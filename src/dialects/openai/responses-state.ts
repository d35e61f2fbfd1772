// The Responses API's state, kept by the gateway and not the engine (issue 24): each response is stored
// with the input it was made from (store defaults to true, as on Azure); `previous_response_id` and
// `item_reference` inputs are rebuilt from the store and the engine is sent the whole conversation, never an
// id it would not know; ids are the gateway's own. A stored response belongs to the credential that made it.
import { createHash, randomBytes } from "node:crypto";
import type { Context } from "koa";
import { GatewayError } from "../../core/errors.ts";
import { keysOf } from "../../core/http/auth.ts";
import type { ResponseStore } from "../../core/state/store.ts";

type Item = Record<string, unknown>;

/** A hash of the credential a request came with (never the credential); one owner for keyless gateways. */
export function ownerOf(ctx: Context): string {
  const { apiKey, bearer } = keysOf(ctx);
  const credential = apiKey ?? bearer ?? "";
  return createHash("sha256").update(`azure-openai-proxy:${credential}`).digest("hex").slice(0, 32);
}

export const newResponseId = (): string => `resp_${randomBytes(24).toString("hex")}`;

/** The input as a list of items (a string is one user message). */
const asItems = (input: unknown): Item[] =>
  typeof input === "string"
    ? [{ type: "message", role: "user", content: input }]
    : Array.isArray(input)
      ? (input as Item[])
      : [];

/** Azure's answer for a response id nothing stored answers to (unknown, deleted, expired, another's). */
export const responseNotFound = (id: string, field: string) =>
  new GatewayError("NotFound", `Response with id '${id.slice(0, 100)}' not found.`, { target: field });

export interface Continued {
  /** Whether the client asked to keep this response (`store`, true unless false). */
  store: boolean;
  previousResponseId: string | undefined;
}

/** Rewrites a Responses body for a stateless engine: earlier turns in, references resolved, `store` and
 * `previous_response_id` out. An unknown or deleted id is a 404, as Azure answers. */
export async function continueConversation(
  body: Record<string, unknown>,
  store: ResponseStore,
  owner: string,
): Promise<Continued> {
  const previousResponseId = typeof body.previous_response_id === "string" ? body.previous_response_id : undefined;
  const turn: Item[] = [];
  let resolved = false;
  for (const item of asItems(body.input)) {
    if (item?.type === "item_reference" && typeof item.id === "string") {
      const referenced = await store.item(item.id, owner);
      if (referenced === undefined)
        throw new GatewayError("NotFound", `Item with id '${item.id.slice(0, 100)}' not found.`, { target: "input" });
      turn.push(referenced as Item);
      resolved = true;
    } else turn.push(item);
  }
  let earlier: Item[] = [];
  if (previousResponseId !== undefined) {
    const previous = await store.get(previousResponseId, owner);
    if (!previous) throw responseNotFound(previousResponseId, "previous_response_id");
    earlier = [...(previous.input as Item[]), ...((previous.response.output as Item[] | undefined) ?? [])];
  }
  const wanted = body.store !== false;
  if (previousResponseId !== undefined || resolved) body.input = [...earlier, ...turn];
  delete body.previous_response_id;
  body.store = false; // the engine keeps nothing: the gateway does
  return { store: wanted, previousResponseId };
}

/** The response as the client gets it: the gateway's id, its chain, its `store`. */
export function asClientResponse(response: Item, id: string, continued: Continued): Item {
  response.id = id;
  response.previous_response_id = continued.previousResponseId ?? null;
  response.store = continued.store;
  return response;
}

/** Input items with the ids and types input_items lists (an easy message has neither). */
export function withItemIds(input: unknown, responseId: string): Item[] {
  return asItems(input).map((item, i) => ({
    ...item,
    type: item.type ?? "message",
    id: typeof item.id === "string" ? item.id : `msg_${responseId.slice(5, 29)}_${i}`,
  }));
}
