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

/** `body` for the engine: each compaction item in its input opened into its summary. The same object when
 * there is none (no copy on the common path). */
export function expandCompactions(body: Item, seal: CompactionSeal, owner: string): Item {
  const input = body.input;
  if (!Array.isArray(input) || !input.some(isCompaction)) return body;
  return {
    ...body,
    input: input.map((item: unknown) => {
      if (!isCompaction(item)) return item;
      if (typeof item.encrypted_content !== "string")
        throw new GatewayError("InvalidRequestBody", "A compaction item needs its encrypted_content.", {
          target: "input",
        });
      return summaryMessage(seal.open(item.encrypted_content, owner));
    }),
  };
}

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

type Accepted = AcceptedBody<OpenAICompactRequest> & { owner: string };

/** POST /responses/compact. */
export function compactResponse(deps: GatewayDeps, edges: OpenAIEdges): Handler {
  let warned = deps.config.compactionKey !== undefined;
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
      const summaryBody: Item = {
        model: request.model,
        instructions: `${deps.config.compactionPrompt ?? COMPACTION_PROMPT}${instructions ? `\n\nThe conversation ran under these instructions:\n${instructions}` : ""}`,
        input: [...items, { type: "message", role: "user", content: SUMMARY_REQUEST }],
        store: false,
        max_output_tokens: SUMMARY_TOKENS,
      };
      const engineBody = expandCompactions(summaryBody, deps.compaction, owner);
      const routing = () => responsesFacts(engineBody as OpenAIResponsesRequest, undefined);
      const answer = answerObject(await engineResponse(call, engineBody, routing), "a compaction summary");
      const summary = outputText(answer.body as Item);
      if (!summary)
        throw new GatewayError("UpstreamInvalidResponse", "The engine answered the compaction with no text to keep.");
      if (!warned) {
        warned = true;
        deps.log.warn(
          "compaction items are sealed with a key of this process (no --compaction-key): they will not open on another replica or after a restart",
        );
      }
      const compacted = {
        id: `cmp_${randomBytes(24).toString("hex")}`,
        object: "response.compaction",
        created_at: Math.floor(Date.now() / 1000),
        output: [
          ...items.filter(isUserMessage).map(asOutputMessage),
          {
            type: "compaction",
            id: `cmp_${randomBytes(24).toString("hex")}`,
            encrypted_content: deps.compaction.seal(summary, owner),
            created_by: "azure-openai-proxy",
          },
        ],
        usage: (answer.body as Item).usage ?? null,
      };
      return { body: compacted, usage: answer.usage };
    },
  };
  return operationHandler(spec, deps, edges.notFound);
}
