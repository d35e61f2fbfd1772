// The Responses API's state, kept by the gateway and not the engine (issue 24): each response is stored
// with the input it was made from (store defaults to true, as on Azure); `previous_response_id` and
// `item_reference` inputs are rebuilt from the store and the engine is sent the whole conversation, never an
// id it would not know; ids are the gateway's own. A stored response belongs to the credential that made it.
import { completeResponse, ECHOED_FIELDS } from "./response-object.ts";
import { randomBytes } from "node:crypto";
import type { Context } from "koa";
import { GatewayError } from "../../core/errors.ts";
import { OPEN_OWNER } from "../../core/consumers/access.ts";
import { exchangeOf } from "../../core/pipeline/exchange.ts";
import type { StateStore } from "../../core/state/store.ts";

type Item = Record<string, unknown>;

/** Who owns what a request stores: decided when it was authenticated (core/consumers/access.ts). */
export const ownerOf = (ctx: Context): string => exchangeOf(ctx).owner ?? OPEN_OWNER;

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
  /** The conversation the response reads and adds to. */
  conversationId: string | undefined;
  /** The turn's own input items (what a conversation gains), earlier ones not included. */
  turn: Item[];
  /** The replica that answered the previous response, if the store knows it. */
  replica: string | undefined;
}

/** The conversation a body names: `"conv_…"` or `{ id }`. */
function conversationOf(body: Record<string, unknown>): string | undefined {
  const named = body.conversation;
  if (typeof named === "string") return named;
  if (named !== null && typeof named === "object" && typeof (named as { id?: unknown }).id === "string")
    return (named as { id: string }).id;
  return undefined;
}

export const conversationNotFound = (id: string, field: string) =>
  new GatewayError("NotFound", `Conversation with id '${id.slice(0, 100)}' not found.`, { target: field });

/** Items with ids already in the conversation (`inConversation` says), or twice in `items`: a 400, as the API
 * answers, since paging by item id needs ids unique in a conversation. */
export async function refuseDuplicateItems(
  items: Item[],
  inConversation: (id: string) => boolean | Promise<boolean>,
  target: string,
): Promise<void> {
  const seen = new Set<string>();
  for (const item of items) {
    const id = item.id;
    if (typeof id !== "string") continue;
    if (seen.has(id) || (await inConversation(id)))
      throw new GatewayError("InvalidRequestBody", `Duplicate item found with id '${id.slice(0, 100)}'.`, { target });
    seen.add(id);
  }
}

/** Rewrites a Responses body for a stateless engine: earlier turns in (from `previous_response_id` or the
 * `conversation`), references resolved, `store`, `previous_response_id` and `conversation` out. An unknown, deleted,
 * expired or another's `previous_response_id` is a 400 `previous_response_not_found`, as OpenAI answers
 * (agent clients resend the whole conversation on it); an unknown conversation or item, a 404. */
export async function continueConversation(
  body: Record<string, unknown>,
  store: StateStore,
  owner: string,
): Promise<Continued> {
  const previousResponseId = typeof body.previous_response_id === "string" ? body.previous_response_id : undefined;
  const conversationId = conversationOf(body);
  if (previousResponseId !== undefined && conversationId !== undefined)
    throw new GatewayError(
      "InvalidRequestBody",
      "previous_response_id and conversation cannot both be given: a response continues one or the other.",
      { target: "conversation" },
    );
  const turn: Item[] = [];
  let resolved = false;
  for (const item of asItems(body.input)) {
    if (item?.type === "item_reference" && typeof item.id === "string") {
      const referenced = await store.item(item.id, owner);
      if (referenced === undefined)
        throw new GatewayError("NotFound", `Item with id '${item.id.slice(0, 100)}' not found.`, { target: "input" });
      turn.push(referenced);
      resolved = true;
    } else turn.push(item);
  }
  let earlier: Item[] = [];
  let replica: string | undefined;
  if (previousResponseId !== undefined) {
    const previous = await store.getResponse(previousResponseId, owner);
    if (!previous)
      throw new GatewayError(
        "PreviousResponseNotFound",
        `Previous response with id '${previousResponseId.slice(0, 100)}' not found.`,
        { target: "previous_response_id" },
      );
    earlier = [...previous.input, ...((previous.response.output as Item[] | undefined) ?? [])];
    replica = previous.replica;
  } else if (conversationId !== undefined) {
    const items = await store.conversationItems(conversationId, owner, { limit: Infinity, order: "asc" });
    if (!items) throw conversationNotFound(conversationId, "conversation");
    // The turn is added to the conversation after the answer: its ids must be new there.
    const held = new Set(items.data.map((item) => item.id));
    await refuseDuplicateItems(turn, (id) => held.has(id), "input");
    earlier = items.data.map(asEngineInput);
  }
  const wanted = body.store !== false;
  if (earlier.length > 0 || resolved) body.input = [...earlier, ...turn];
  delete body.previous_response_id;
  delete body.conversation;
  body.store = false; // the engine keeps nothing: the gateway does
  return { store: wanted, previousResponseId, conversationId, turn, replica };
}

/** A conversation item as an input item: the fields only the store adds (status of a message) out. */
function asEngineInput(item: Item): Item {
  if (item.type !== "message") return item;
  const { status: _status, ...input } = item;
  return input;
}

/** The response as the client gets it: the gateway's id, its chain, its conversation, its `store`, and
 * every field a Response has (response-object.ts), from the engine's answer or `request`'s settings. */
export function asClientResponse(response: Item, id: string, continued: Continued, request: Item): Item {
  response.id = id;
  response.previous_response_id = continued.previousResponseId ?? null;
  response.conversation = continued.conversationId === undefined ? null : { id: continued.conversationId };
  response.store = continued.store;
  return completeResponse(response, request);
}

/** Input items with the ids and types input_items lists (an easy message has neither). */
export function withItemIds(input: unknown, responseId: string): Item[] {
  return asItems(input).map((item, i) => ({
    ...item,
    type: item.type ?? "message",
    id: typeof item.id === "string" ? item.id : `msg_${responseId.slice(5, 29)}_${i}`,
  }));
}

export const newItemId = (prefix = "msg"): string => `${prefix}_${randomBytes(24).toString("hex")}`;

/** Items as a conversation keeps them: each with an id and a type; a message's text as content parts. */
export function asConversationItems(items: Item[]): Item[] {
  return items.map((item) => {
    const type = item.type ?? "message";
    const id = typeof item.id === "string" ? item.id : newItemId(type === "message" ? "msg" : "item");
    if (type !== "message") return { ...item, id, type };
    const textType = item.role === "assistant" ? "output_text" : "input_text";
    const content = typeof item.content === "string" ? [{ type: textType, text: item.content }] : (item.content ?? []);
    return { ...item, id, type, status: item.status ?? "completed", content };
  });
}

/** What a response adds to its conversation: the turn's input, then its output. */
export async function addToConversation(
  store: StateStore,
  owner: string,
  continued: Continued,
  response: Item,
  ttlMs: number,
): Promise<void> {
  if (continued.conversationId === undefined) return;
  const output = (response.output as Item[] | undefined) ?? [];
  await store.addItems(continued.conversationId, owner, asConversationItems([...continued.turn, ...output]), ttlMs);
}

/** Request settings a Response repeats, as the request gave them (response-object.ts lists them). */
export function echoedSettings(body: Item): Item {
  return Object.fromEntries(
    ECHOED_FIELDS.filter((field) => body[field] !== undefined).map((field) => [field, body[field]]),
  );
}
