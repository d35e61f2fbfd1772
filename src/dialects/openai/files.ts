// The Files API (POST/GET /files, GET/DELETE /files/{id}, GET /files/{id}/content), kept by the gateway in
// every OpenAI-bodied dialect: what Azure's Batch API reads its input from. An upload is multipart, streamed
// to --files (never held whole in memory) up to --file-size-limit; its metadata is the store's, and a file
// belongs to the credential that uploaded it, as stored responses do.
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import type { Context, Next } from "koa";
import { koaBody } from "koa-body";
import type { GatewayDeps } from "../../deps.ts";
import { GatewayError } from "../../core/errors.ts";
import { exchangeOf } from "../../core/pipeline/exchange.ts";
import type { Handler } from "../../core/pipeline/operation.ts";
import { pageOf, type StoredFile } from "../../core/state/store.ts";
import type { OpenAIEdges } from "./operations.ts";
import { ownerOf } from "./responses-state.ts";
import { listOf, pageOrRefusal } from "./stored-responses.ts";

/** The purposes kept: input for batches, and plain files. */
export const FILE_PURPOSES = ["batch", "user_data"] as const;
/** expires_after.seconds, as the API bounds it (an hour to 30 days). */
const EXPIRY_SECONDS = { min: 3600, max: 2_592_000 };

export type FileOperation = "upload" | "list" | "get" | "delete" | "content";

const newFileId = () => `file-${randomBytes(24).toString("hex")}`;

/** The OpenAI FileObject (Azure adds status "processed" and leaves status_details null). */
export const fileObject = (f: StoredFile) => ({
  id: f.id,
  object: "file",
  bytes: f.bytes,
  created_at: Math.floor(f.createdAt / 1000),
  expires_at: Math.floor(f.expiresAt / 1000),
  filename: f.filename,
  purpose: f.purpose,
  status: "processed",
  status_details: null,
});

const fileNotFound = (id: string) =>
  new GatewayError("NotFound", `No such File object: ${id.slice(0, 100)}`, { target: "file_id" });

/** koa-body's multipart reader for uploads only: formidable streams the file to --files' incoming directory
 * and stops at --file-size-limit. */
export function multipartUpload(deps: GatewayDeps) {
  return async function readUpload(ctx: Context, next: Next): Promise<void> {
    if (!/^multipart\/form-data/i.test(ctx.get("content-type")))
      throw new GatewayError(
        "InvalidRequestBody",
        "Upload a file as multipart/form-data with the fields file and purpose.",
        { target: "file" },
      );
    const storage = await deps.files();
    const parse = koaBody({
      multipart: true,
      json: false,
      urlencoded: false,
      text: false,
      formidable: {
        uploadDir: storage.incoming,
        maxFileSize: deps.config.fileSizeLimitBytes,
        maxFiles: 1,
        maxFields: 8,
        maxFieldsSize: 64 * 1024,
      },
    });
    try {
      await parse(ctx, async () => {});
    } catch (err) {
      const message = (err as Error).message ?? "";
      if (/maxFileSize|maxTotalFileSize/.test(message))
        throw new GatewayError(
          "PayloadTooLarge",
          `The file is over this gateway's limit of ${deps.config.fileSizeLimitBytes} bytes (--file-size-limit).`,
          { target: "file" },
        );
      throw new GatewayError("InvalidRequestBody", `The upload could not be read: ${message.slice(0, 200)}`, {
        target: "file",
      });
    }
    return next();
  };
}

export function files(deps: GatewayDeps, edges: OpenAIEdges, operation: FileOperation): Handler {
  const { store } = deps;
  return async (ctx) => {
    const exchange = exchangeOf(ctx);
    exchange.apiVersion = edges.apiVersion(ctx.querystring);
    exchange.operation = "files";
    const owner = ownerOf(ctx);
    const id = (ctx.params as { id?: string }).id ?? "";
    switch (operation) {
      case "upload": {
        const upload = (ctx.request.files as Record<string, unknown> | undefined)?.file;
        const file = (Array.isArray(upload) ? upload[0] : upload) as
          { filepath: string; originalFilename?: string | null; size: number } | undefined;
        const fields = (ctx.request.body ?? {}) as Record<string, unknown>;
        try {
          if (!file) throw new GatewayError("InvalidRequestBody", "The field 'file' is missing.", { target: "file" });
          const purpose = fields.purpose;
          if (typeof purpose !== "string" || !(FILE_PURPOSES as readonly string[]).includes(purpose))
            throw new GatewayError(
              "InvalidRequestBody",
              `'purpose' must be one of ${FILE_PURPOSES.join(", ")} (got ${JSON.stringify(purpose ?? null)?.slice(0, 60)}).`,
              { target: "purpose" },
            );
          const expiresMs = expiryOf(fields, deps.config.storeTtlMs);
          const storage = await deps.files();
          const newId = newFileId();
          const bytes = await storage.adopt(newId, file.filepath);
          const createdAt = Date.now();
          const stored: StoredFile = {
            id: newId,
            owner,
            filename: (file.originalFilename || "file").slice(0, 255),
            purpose,
            bytes,
            createdAt,
            expiresAt: createdAt + expiresMs,
          };
          try {
            await store.putFile(stored);
          } catch (err) {
            await storage.remove(newId); // no bytes without their metadata
            throw err;
          }
          ctx.body = fileObject(stored);
        } finally {
          if (file) await rm(file.filepath, { force: true }); // refused: the partial upload goes
        }
        return;
      }
      case "list": {
        const { order, after, limit } = fileListQuery(ctx.query);
        const purpose = ctx.query.purpose;
        const all = (await store.listFiles(owner)).filter((f) => typeof purpose !== "string" || f.purpose === purpose);
        ctx.body = listOf(pageOrRefusal(pageOf(all.map(fileObject), { order, after, limit })));
        return;
      }
      case "get": {
        const found = await store.getFile(id, owner);
        if (!found) throw fileNotFound(id);
        ctx.body = fileObject(found);
        return;
      }
      case "delete": {
        if (!(await store.deleteFile(id, owner))) throw fileNotFound(id);
        await (await deps.files()).remove(id);
        ctx.body = { id, object: "file", deleted: true };
        return;
      }
      case "content": {
        const found = await store.getFile(id, owner);
        if (!found) throw fileNotFound(id);
        ctx.type = found.filename.endsWith(".jsonl") ? "application/jsonl" : "application/octet-stream";
        ctx.set("content-length", String(found.bytes));
        ctx.body = (await deps.files()).read(id);
        return;
      }
    }
  };
}

/** expires_after (anchor created_at, seconds within the API's bounds), else the store's TTL. */
function expiryOf(fields: Record<string, unknown>, defaultMs: number): number {
  const anchor = fields["expires_after[anchor]"];
  const seconds = fields["expires_after[seconds]"];
  if (anchor === undefined && seconds === undefined) return defaultMs;
  const n = Number(seconds);
  if (anchor !== "created_at" || !Number.isInteger(n) || n < EXPIRY_SECONDS.min || n > EXPIRY_SECONDS.max)
    throw new GatewayError(
      "InvalidRequestBody",
      `expires_after takes anchor 'created_at' and seconds from ${EXPIRY_SECONDS.min} to ${EXPIRY_SECONDS.max}.`,
      { target: "expires_after" },
    );
  return n * 1000;
}

/** The list's query as the API takes it for files: limit 1 to 10,000 (default 10,000), newest first. */
function fileListQuery(query: Context["query"]): { order: "asc" | "desc"; after: string | undefined; limit: number } {
  const one = (name: string) => (typeof query[name] === "string" ? (query[name] as string) : undefined);
  const limit = one("limit");
  if (limit !== undefined && !(/^\d{1,5}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 10_000))
    throw new GatewayError("InvalidRequestBody", "limit must be an integer from 1 to 10000.", { target: "limit" });
  const order = one("order") ?? "desc";
  if (order !== "asc" && order !== "desc")
    throw new GatewayError("InvalidRequestBody", "order must be 'asc' or 'desc'.", { target: "order" });
  const after = one("after");
  return { order, after: after || undefined, limit: limit === undefined ? 10_000 : Number(limit) };
}
