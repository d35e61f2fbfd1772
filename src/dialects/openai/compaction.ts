// Compaction by the gateway (Azure's POST /responses/compact, served for engines that have none): the
// deployment's own model summarises everything in a conversation but its user messages, and the client gets
// those user messages and one `compaction` item standing for the rest. The item is sealed (AES-256-GCM, key
// --compaction-key, the caller's owner as associated data): opaque to clients, refused when forged, altered
// or another owner's, and opened again by any gateway holding the key — another replica, after a restart —
// into the summary the engine is given when the item comes back in `input`.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import { GatewayError } from "../../core/errors.ts";
import { type Handler, operationHandler, type OperationSpec } from "../../core/pipeline/operation.ts";
import type { Item } from "../../core/state/store.ts";
import { responsesFacts } from "../../core/routing/prompt.ts";
import { acceptBody, type AcceptedBody, answerObject, type OpenAIEdges } from "./operations.ts";
import { engineResponse } from "./responses-bridge.ts";
import { continueConversation, ownerOf } from "./responses-state.ts";
import type { OpenAICompactRequest, OpenAIResponsesRequest } from "./types.ts";
import type { Usage } from "../../core/pipeline/exchange.ts";
import type { EngineCall } from "../../core/pipeline/operation.ts";

/** What the model is asked to write; --compaction-prompt replaces it. */
export const COMPACTION_PROMPT = `You compact a conversation so that it can go on without its history.
Write a summary of everything in it except the user's own messages, which are kept as they are: what the
assistant said, decided and promised, every tool call with its arguments and result, files, names, numbers
and facts it relied on, and what is still open. Be complete and precise rather than short; write it for
yourself, in the conversation's language, as notes that let you continue exactly where it stopped.`;

const SUMMARY_REQUEST = "Write the summary of the conversation above now, and nothing else.";
/** The summary's budget (its own max_output_tokens). */
const SUMMARY_TOKENS = 2048;
const VERSION = "aop1";

export interface CompactionSeal {
  /** The summary sealed for `owner`: the item's `encrypted_content`. */
  seal(summary: string, owner: string): string;
  /** The summary, or a 400 when the content was not sealed by this key for `owner`. */
  open(content: string, owner: string): string;
}

export function createCompactionSeal(key: Buffer): CompactionSeal {
  if (key.length !== 32) throw new Error("a compaction key is 32 bytes");
  return {
    seal(summary, owner) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.from(owner));
      const sealed = Buffer.concat([cipher.update(summary, "utf8"), cipher.final()]);
      return `${VERSION}.${Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString("base64url")}`;
    },
    open(content, owner) {
      const refused = () =>
        new GatewayError(
          "InvalidEncryptedContent",
          "A compaction item's encrypted_content was not made by this gateway for this caller, or was altered: send the items POST /responses/compact answered, unchanged.",
          { target: "input" },
        );
      if (!content.startsWith(`${VERSION}.`)) throw refused();
      const bytes = Buffer.from(content.slice(VERSION.length + 1), "base64url");
      if (bytes.length < 12 + 16) throw refused();
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, 12));
        decipher.setAAD(Buffer.from(owner));
        decipher.setAuthTag(bytes.subarray(bytes.length - 16));
        return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString(
          "utf8",
        );
      } catch {
        throw refused();
      }
    },
  };
}

const isCompaction = (item: unknown): item is Item & { encrypted_content: unknown } =>
  item !== null && typeof item === "object" && (item as Item).type === "compaction";

/** The summary as the engine is given it: the model's own notes, in its own voice. */
const summaryMessage = (summary: string): Item => ({
  type: "message",
  role: "assistant",
  content: `[Summary of the conversation so far]\n${summary}`,
});

/** `body` for the engine: each compaction item in its input opened into its summary. A compaction item stands
 * for everything before it but the user messages (what /responses/compact answers, or an earlier turn's
 * automatic compaction in a previous_response_id chain): those earlier items are left out. The same object
 * when there is none (no copy on the common path). */
export function expandCompactions(body: Item, seal: CompactionSeal, owner: string): Item {
  const input = body.input;
  if (!Array.isArray(input) || !input.some(isCompaction)) return body;
  const last = input.findLastIndex(isCompaction);
  const expanded: unknown[] = [];
  input.forEach((item: unknown, i: number) => {
    if (isCompaction(item)) {
      if (i !== last) return; // an older compaction: the last one's summary covers it
      if (typeof item.encrypted_content !== "string")
        throw new GatewayError("InvalidRequestBody", "A compaction item needs its encrypted_content.", {
          target: "input",
        });
      expanded.push(summaryMessage(seal.open(item.encrypted_content, owner)));
    } else if (i > last || isUserMessage(item as Item)) expanded.push(item);
  });
  // The superseded items are checked too: a forged one is refused wherever it is.
  input.forEach((item: unknown, i: number) => {
    if (i < last && isCompaction(item) && typeof item.encrypted_content === "string")
      seal.open(item.encrypted_content, owner);
  });
  return { ...body, input: expanded };
}

/** A role item without its `type` (the API's easy input message) with it: llama.cpp refuses an assistant
 * message that does not say it is one ("Cannot determine type of 'item'"). */
const typedMessage = (item: Item): Item =>
  item.type === undefined && typeof item.role === "string" ? { type: "message", ...item } : item;

const isUserMessage = (item: Item) => (item.type === "message" || item.type === undefined) && item.role === "user";

/** A user message as an output item (ids and the content parts a Message has). */
function asOutputMessage(item: Item): Item {
  const content =
    typeof item.content === "string"
      ? [{ type: "input_text", text: item.content }]
      : Array.isArray(item.content)
        ? item.content
        : [];
  return {
    type: "message",
    id: typeof item.id === "string" ? item.id : `msg_${randomBytes(24).toString("hex")}`,
    role: "user",
    content,
    status: "completed",
  };
}

/** The text the model answered with (its output messages' text parts). */
function outputText(response: Item): string {
  const texts: string[] = [];
  for (const item of (response.output as Item[] | undefined) ?? [])
    if (item?.type === "message" && Array.isArray(item.content))
      for (const part of item.content as Item[]) if (typeof part?.text === "string") texts.push(part.text);
  return texts.join("").trim();
}

/** One summary pass over `items` with the deployment's model: the sealed item that stands for them, and
 * the pass's usage (as the engine reported it, and counted). */
async function summarise(
  deps: GatewayDeps,
  call: EngineCall,
  owner: string,
  model: unknown,
  items: Item[],
  instructions: string | undefined,
): Promise<{ item: Item; usage: Item | undefined; counted: Usage | undefined }> {
  const summaryBody: Item = {
    model,
    instructions: `${deps.config.compactionPrompt ?? COMPACTION_PROMPT}${instructions ? `\n\nThe conversation ran under these instructions:\n${instructions}` : ""}`,
    input: [...items.map(typedMessage), { type: "message", role: "user", content: SUMMARY_REQUEST }],
    store: false,
    max_output_tokens: SUMMARY_TOKENS,
  };
  const engineBody = expandCompactions(summaryBody, deps.compaction, owner);
  const routing = () => responsesFacts(engineBody as OpenAIResponsesRequest, undefined);
  const answer = answerObject(await engineResponse(call, engineBody, routing), "a compaction summary");
  const summary = outputText(answer.body as Item);
  if (!summary)
    throw new GatewayError("UpstreamInvalidResponse", "The engine answered the compaction with no text to keep.");
  warnWithoutKey(deps);
  return {
    item: {
      type: "compaction",
      id: `cmp_${randomBytes(24).toString("hex")}`,
      encrypted_content: deps.compaction.seal(summary, owner),
      created_by: "azure-openai-proxy",
    },
    usage: (answer.body as Item).usage as Item | undefined,
    counted: answer.usage,
  };
}

const unkeyed = new WeakSet<GatewayDeps>();
function warnWithoutKey(deps: GatewayDeps): void {
  if (deps.config.compactionKey !== undefined || unkeyed.has(deps)) return;
  unkeyed.add(deps);
  deps.log.warn(
    "compaction items are sealed with a key of this process (no --compaction-key): they will not open on another replica or after a restart",
  );
}

/** context_management's compaction threshold, when the request sets one. */
export function compactThreshold(body: Item): number | undefined {
  const entries = Array.isArray(body.context_management) ? (body.context_management as Item[]) : [];
  for (const entry of entries)
    if (entry?.type === "compaction" && typeof entry.compact_threshold === "number") return entry.compact_threshold;
  return undefined;
}

/** A create's automatic compaction (context_management): when the conversation the engine would be given
 * passes `compact_threshold` tokens (the gateway's estimate: JSON length / 4), everything before this turn is
 * compacted first; the engine gets the user messages, the summary and the turn, and the response's output
 * starts with the sealed item, which a later previous_response_id turn carries on. */
export async function compactIfPastThreshold(
  deps: GatewayDeps,
  call: EngineCall,
  owner: string,
  body: Item,
  engineBody: Item,
  turn: readonly Item[],
): Promise<{ engineBody: Item; item: Item; usage: Item | undefined; counted: Usage | undefined } | undefined> {
  const threshold = compactThreshold(body);
  const input = Array.isArray(engineBody.input) ? (engineBody.input as Item[]) : undefined;
  if (threshold === undefined || input === undefined) return undefined;
  if (Math.ceil(JSON.stringify(input).length / 4) < threshold) return undefined;
  const earlier = input.slice(0, Math.max(0, input.length - turn.length));
  if (earlier.length === 0) return undefined;
  const pass = await summarise(
    deps,
    call,
    owner,
    engineBody.model,
    earlier,
    typeof body.instructions === "string" ? body.instructions : undefined,
  );
  const { context_management: _settings, ...rest } = engineBody;
  return {
    ...pass,
    engineBody: {
      ...rest,
      input: [
        ...earlier.filter(isUserMessage),
        summaryMessage(deps.compaction.open(String(pass.item.encrypted_content), owner)),
        ...input.slice(earlier.length),
      ],
    },
  };
}

/** Two usages as one (the compaction pass's and the answer's), in the Responses API's fields. */
export function addUsage(a: Item | undefined, b: unknown): Item | undefined {
  if (!a) return b as Item | undefined;
  if (b === null || typeof b !== "object") return a;
  const u = b as Item;
  const n = (x: unknown) => (typeof x === "number" ? x : 0);
  return {
    ...u,
    input_tokens: n(a.input_tokens) + n(u.input_tokens),
    output_tokens: n(a.output_tokens) + n(u.output_tokens),
    total_tokens: n(a.total_tokens) + n(u.total_tokens),
  };
}

type Accepted = AcceptedBody<OpenAICompactRequest> & { owner: string };

/** POST /responses/compact. */
export function compactResponse(deps: GatewayDeps, edges: OpenAIEdges): Handler {
  const spec: OperationSpec<Accepted> = {
    operation: "responses",
    engine: { path: "/responses", optional: true },
    async accept(ctx: Context) {
      const accepted = await acceptBody<OpenAICompactRequest>(ctx, edges, "CompactResponseMethodPublicBody");
      return { ...accepted, owner: ownerOf(ctx), stream: false };
    },
    async answer(call, { body, owner }, model) {
      const request = body as unknown as Item;
      if (model !== undefined) request.model = model;
      // Earlier turns in (previous_response_id), as a create would send them.
      await continueConversation(request, deps.store, owner);
      const items = Array.isArray(request.input)
        ? (request.input as Item[])
        : typeof request.input === "string"
          ? [{ type: "message", role: "user", content: request.input }]
          : [];
      if (items.length === 0)
        throw new GatewayError(
          "InvalidRequestBody",
          "There is nothing to compact: give input or previous_response_id.",
          {
            target: "input",
          },
        );
      const instructions = typeof request.instructions === "string" ? request.instructions : undefined;
      const pass = await summarise(deps, call, owner, request.model, items, instructions);
      const compacted = {
        id: `cmp_${randomBytes(24).toString("hex")}`,
        object: "response.compaction",
        created_at: Math.floor(Date.now() / 1000),
        output: [...items.filter(isUserMessage).map(asOutputMessage), pass.item],
        usage: pass.usage ?? null,
      };
      return { body: compacted, usage: pass.counted };
    },
  };
  return operationHandler(spec, deps, edges.notFound);
}
