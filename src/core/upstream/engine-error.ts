// Any engine error body (OpenAI `{error:{message,type,param,code}}`, vLLM `{object:"error",message,type,code}`,
// TGI `{error:"…",error_type}`, plain text, empty) -> GatewayError with the engine's status (§13.7).
import { type EngineErrorCode, type ErrorCode, GatewayError } from "../errors.ts";
import { redactSecrets } from "../secrets.ts";

const MAX_MESSAGE = 2000;

function pickString(...values: unknown[]): string | undefined {
  for (const v of values) if (typeof v === "string" && v.trim()) return v.trim();
  return undefined;
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** PascalCase code from an engine's snake_case type/code (`invalid_request_error` -> `InvalidRequestError`). */
function toCode(raw: string | undefined, status: number): ErrorCode | EngineErrorCode {
  if (raw && /^[A-Za-z][\w.-]*$/.test(raw)) {
    return raw
      .split(/[_.\-\s]+/)
      .filter(Boolean)
      .map((w) => w[0]!.toUpperCase() + w.slice(1))
      .join("") as EngineErrorCode;
  }
  if (status === 404) return "NotFound";
  if (status === 429) return "TooManyRequests";
  if (status >= 500) return "UpstreamError";
  return "InvalidRequest";
}

export function parseErrorBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `status` is the engine's; 5xx other than 503/504 become 502 so clients see a gateway-side fault class,
 * and client mistakes reported by the engine stay 4xx. Retry-After is kept. */
export function toGatewayError(status: number, body: unknown, retryAfter: string | null): GatewayError {
  const root = asRecord(body);
  const nested = asRecord(root?.error);
  const engineMessage = pickString(
    nested?.message,
    root?.message,
    typeof root?.error === "string" ? root.error : undefined,
    root?.detail,
  );
  // A body that is not JSON (an HTML error page, a proxy's text) is not copied to clients: its status
  // and a short, sanitised excerpt are; the body itself goes to the log.
  const text = typeof body === "string" ? body : undefined;
  // The engine's words, without credentials it may echo (core/secrets.ts), to the client and the log alike.
  const message =
    (engineMessage === undefined ? undefined : redactSecrets(engineMessage.slice(0, MAX_MESSAGE))) ??
    (text?.trim()
      ? `The engine answered HTTP ${status} with a body that is not JSON: "${excerpt(redactSecrets(text))}".`
      : `The engine answered HTTP ${status}${text === undefined ? "" : " with an empty body"}.`);
  const code = toCode(
    pickString(typeof nested?.code === "string" ? nested.code : undefined, nested?.type, root?.type, root?.error_type),
    status,
  );
  const target = pickString(nested?.param, root?.param);
  const mappedStatus = status >= 500 && status !== 503 && status !== 504 ? 502 : status >= 400 ? status : 502;
  return new GatewayError(code, message, {
    status: mappedStatus,
    ...(target ? { target } : {}),
    ...(retryAfter && (status === 429 || status === 503) ? { headers: { "retry-after": retryAfter } } : {}),
    ...(text?.trim() ? { detail: `engine HTTP ${status} body: ${redactSecrets(text.slice(0, MAX_MESSAGE))}` } : {}),
  });
}

const EXCERPT = 120;

/** Markup, control characters and runs of white space out; at most EXCERPT characters. */
export function excerpt(text: string): string {
  const plain = text
    .replace(/<[^>]*>/g, " ")
    .replace(/&[a-z]+;|&#\d+;/gi, " ")
    .replace(/[\u0000-\u001f\u007f"\\]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return plain.length > EXCERPT ? `${plain.slice(0, EXCERPT - 1)}…` : plain;
}

/** An engine 404 (or 405) for the route itself, not about the request: engines name the model when
 * they reject one (vLLM: "The model `x` does not exist."), a missing route's body does not
 * (FastAPI `{"detail":"Not Found"}`, llama.cpp "File Not Found", an HTML page). */
export function isMissingRoute(status: number, body: unknown): boolean {
  if (status === 405) return true;
  if (status !== 404) return false;
  const text = typeof body === "string" ? body : JSON.stringify(body ?? "");
  return !/model|deployment/i.test(text);
}
