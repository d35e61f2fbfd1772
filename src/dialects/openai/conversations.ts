// The Conversations API (POST/GET/DELETE /conversations, items list/create/get/delete), kept by the gateway
// (issue 24): a thread of items that responses created with `conversation` read and add to. Bodies are
// checked against the pinned spec (CreateConversationBody, UpdateConversationBody); a conversation belongs
// to the credential that made it.
import { randomBytes } from "node:crypto";
import type { GatewayDeps } from "../../deps.ts";
import { GatewayError } from "../../core/errors.ts";
import type { StoredConversation } from "../../core/state/store.ts";
import { exchangeOf } from "../../core/pipeline/exchange.ts";
import type { Handler } from "../../core/pipeline/operation.ts";
import type { OpenAIEdges } from "./operations.ts";
import { listOf, pageOrRefusal, pageQuery } from "./stored-responses.ts";
import { asConversationItems, conversationNotFound, ownerOf, refuseDuplicateItems } from "./responses-state.ts";
import { checkOpenAIBody } from "./validate.ts";

export type ConversationOperation =
  "create" | "get" | "update" | "delete" | "list_items" | "add_items" | "get_item" | "delete_item";

type Item = Record<string, unknown>;

const newConversationId = () => `conv_${randomBytes(24).toString("hex")}`;

const asResource = (c: StoredConversation) => ({
  id: c.id,
  object: "conversation",
  created_at: Math.floor(c.createdAt / 1000),
  metadata: c.metadata,
});

const itemNotFound = (id: string) =>
  new GatewayError("NotFound", `Item with id '${id.slice(0, 100)}' not found.`, { target: "item_id" });

export function conversations(deps: GatewayDeps, edges: OpenAIEdges, operation: ConversationOperation): Handler {
  const { store } = deps;
  const ttl = deps.config.storeTtlMs;
  return async (ctx) => {
    const exchange = exchangeOf(ctx);
    exchange.apiVersion = edges.apiVersion(ctx.querystring);
    exchange.operation = "conversations";
    const owner = ownerOf(ctx);
    const { id = "", itemId = "" } = ctx.params as { id?: string; itemId?: string };
    const missing = () => conversationNotFound(id, "conversation_id");
    switch (operation) {
      case "create": {
        const body = await checkOpenAIBody<{ metadata?: Record<string, string> | null; items?: Item[] | null }>(
          ctx.request.body ?? {},
          "CreateConversationBody",
        );
        const conversation = { id: newConversationId(), owner, createdAt: Date.now(), metadata: body.metadata ?? {} };
        const items = asConversationItems(body.items ?? []);
        await refuseDuplicateItems(items, () => false, "items");
        await store.createConversation(conversation, items, ttl);
        ctx.body = asResource(conversation);
        return;
      }
      case "get": {
        const found = await store.getConversation(id, owner);
        if (!found) throw missing();
        ctx.body = asResource(found);
        return;
      }
      case "update": {
        const body = await checkOpenAIBody<{ metadata: Record<string, string> }>(
          ctx.request.body,
          "UpdateConversationBody",
        );
        const updated = await store.updateConversation(id, owner, body.metadata);
        if (!updated) throw missing();
        ctx.body = asResource(updated);
        return;
      }
      case "delete":
        if (!(await store.deleteConversation(id, owner))) throw missing();
        ctx.body = { id, object: "conversation.deleted", deleted: true };
        return;
      case "list_items": {
        const page = pageOrRefusal(await store.conversationItems(id, owner, pageQuery(ctx, "desc")));
        if (!page) throw missing();
        ctx.body = listOf(page);
        return;
      }
      case "add_items": {
        // The same body as a new conversation's items (at most 20 InputItems), which are required here.
        const body = await checkOpenAIBody<{ items?: Item[] | null }>(ctx.request.body, "CreateConversationBody");
        if (!Array.isArray(body.items))
          throw new GatewayError("InvalidRequestBody", "items is required: the items to add (at most 20).", {
            target: "items",
          });
        const items = asConversationItems(body.items);
        if (!(await store.getConversation(id, owner))) throw missing();
        await refuseDuplicateItems(
          items,
          async (itemId) => (await store.conversationItem(id, owner, itemId)) !== undefined,
          "items",
        );
        if (!(await store.addItems(id, owner, items, ttl))) throw missing();
        ctx.body = listOf({ data: items, hasMore: false });
        return;
      }
      case "get_item": {
        if (!(await store.getConversation(id, owner))) throw missing();
        const item = await store.conversationItem(id, owner, itemId);
        if (!item) throw itemNotFound(itemId);
        ctx.body = item;
        return;
      }
      case "delete_item": {
        const found = await store.getConversation(id, owner);
        if (!found) throw missing();
        if (!(await store.deleteConversationItem(id, owner, itemId))) throw itemNotFound(itemId);
        ctx.body = asResource(found); // the API answers the conversation
        return;
      }
    }
  };
}
