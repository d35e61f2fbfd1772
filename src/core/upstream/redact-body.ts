// The engine's key out of every answer the engine gives (issue 32): an engine that copies its request's
// Authorization header into its body would hand the key to the client, the store and the log. Only an
// engine the gateway sends a key to can echo one, so only its answers pass through here (no cost for the
// others); the key is searched for in each chunk as bytes, and a chunk that ends with the start of the key
// holds those few bytes back until the next one says whether the key follows (nothing else waits).
import { Transform, type TransformCallback } from "node:stream";

const REDACTED = Buffer.from("[redacted]");

/** The length of the longest end of `data` that begins `secret` (a key cut between two chunks). */
function startOfSecretAtEnd(data: Buffer, secret: Buffer): number {
  for (let i = Math.max(0, data.length - secret.length + 1); i < data.length; i++)
    if (data[i] === secret[0] && data.compare(secret, 0, data.length - i, i) === 0) return data.length - i;
  return 0;
}

function replaced(data: Buffer, secret: Buffer): Buffer {
  let at = data.indexOf(secret);
  if (at < 0) return data;
  const parts: Buffer[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(data.subarray(from, at), REDACTED);
    from = at + secret.length;
    at = data.indexOf(secret, from);
  }
  parts.push(data.subarray(from));
  return Buffer.concat(parts);
}

/** `text` with each of `secrets` replaced by "[redacted]" (an answer read whole). */
export function redactKnown(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join("[redacted]");
  return out;
}

/** A streamed answer's body with `secrets` replaced by "[redacted]". */
export class RedactedBody extends Transform {
  private held: Buffer = Buffer.alloc(0);
  private readonly secrets: Buffer[];

  constructor(secrets: readonly string[]) {
    super();
    this.secrets = secrets.map((s) => Buffer.from(s));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let data = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    let hold = 0;
    for (const secret of this.secrets) {
      data = replaced(data, secret);
      hold = Math.max(hold, startOfSecretAtEnd(data, secret));
    }
    this.held = data.subarray(data.length - hold);
    done(null, hold === data.length ? undefined : data.subarray(0, data.length - hold));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.held.length > 0 ? this.held : undefined);
  }
}
