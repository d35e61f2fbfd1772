// What must never reach a client or a log line from an engine's words: engines echo headers and
// configuration in their errors (an `Authorization` header, a key in a URL). The keys this gateway knows
// (the engines' and its own) are removed wherever they appear; anything shaped like a credential is too.
// Used on error paths only: the cost is never paid by an answer.

const known = new Set<string>();

/** A credential to remove from engine text (engine keys, the gateway's own keys). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) known.add(value);
}

const REDACTED = "[redacted]";

/** Credential shapes: a scheme and its token; a header or field named like a credential and its value;
 * the prefixed keys of common providers; JWTs; any long token of letters and digits (Azure keys are 32
 * hex characters or 84 of base64). */
const SHAPES: Array<[RegExp, string | ((...groups: string[]) => string)]> = [
  [
    /("?\b(?:authorization|proxy-authorization|api[-_]?key|x-api-key|ocp-apim-subscription-key|cookie|set-cookie|access[-_]?token|refresh[-_]?token|client[-_]?secret|secret|password|token)"?\s*[:=]\s*)("[^"]*"|(?:(?:bearer|basic)\s+)?[^"\s,;}&]+)/gi,
    (_match, name, value) => `${name}${value.startsWith('"') ? `"${REDACTED}"` : REDACTED}`,
  ],
  [/\b(bearer|basic)(\s+)(?!\[redacted\])[A-Za-z0-9._~+/=-]{4,}/gi, `$1$2${REDACTED}`],
  [/\b(?:sk|rk|pk)-[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\bhf_[A-Za-z0-9]{16,}/g, REDACTED],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [/(?<![A-Za-z0-9+/_-])(?=[A-Za-z0-9+/_-]*\d)(?=[A-Za-z0-9+/_-]*[A-Za-z])[A-Za-z0-9+/_-]{32,}={0,2}/g, REDACTED],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  for (const [shape, replacement] of SHAPES) out = out.replace(shape, replacement as string);
  return out;
}
