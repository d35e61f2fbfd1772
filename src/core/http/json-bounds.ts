// Bounds on a parsed JSON body that the JSON grammar does not give: nesting depth (a pass-through field
// nested thousands of levels deep overflowed serialisation on its way to the engine and was reported as
// an engine outage) and finite numbers (`1e400` parses as Infinity and would reach the engine as null).
import type { Context, Next } from "koa";
import { GatewayError } from "../errors.ts";
import { toFieldPath } from "../validate/bodies.ts";

/** Deeper than any request the APIs define (a tool's JSON schema nests a few dozen levels at most). */
export const MAX_JSON_DEPTH = 64;

interface Fault {
  pointer: string;
  reason: "depth" | "number";
}

function findFault(value: unknown, depth: number, pointer: string): Fault | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : { pointer, reason: "number" };
  if (value === null || typeof value !== "object") return undefined;
  if (depth >= MAX_JSON_DEPTH) return { pointer, reason: "depth" };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item === "string" || typeof item === "boolean" || item === null) continue; // the common case, no call
      const fault = findFault(item, depth + 1, `${pointer}/${i}`);
      if (fault) return fault;
    }
    return undefined;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === "string" || typeof item === "boolean" || item === null) continue;
    const fault = findFault(item, depth + 1, `${pointer}/${key}`);
    if (fault) return fault;
  }
  return undefined;
}

/** After the body parser: a 400 naming the field, before any other stage reads the body. */
export function checkJsonBounds(ctx: Context, next: Next): Promise<void> {
  const body = ctx.request.body;
  if (body !== null && typeof body === "object") {
    const fault = findFault(body, 0, "");
    if (fault) {
      const target = toFieldPath(fault.pointer).slice(0, 200);
      throw fault.reason === "number"
        ? new GatewayError(
            "InvalidRequestBody",
            `'${target}' is a number out of range: a JSON number must be finite.`,
            { target },
          )
        : new GatewayError(
            "InvalidRequestBody",
            `The request body nests deeper than ${MAX_JSON_DEPTH} levels (at '${target}').`,
            { target },
          );
    }
  }
  return next();
}
