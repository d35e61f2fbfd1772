// The one error type of the gateway and its code table. Each dialect writes it in its own envelope
// (src/dialects/*/error-body.ts). Imports nothing from src/.

/** Stable error codes, each with its HTTP status. Codes are PascalCase like Azure's. */
export const ERROR_STATUS = {
  MissingApiVersionParameter: 400,
  UnsupportedApiVersionValue: 400,
  InvalidExtraParametersHeader: 400,
  ExtraParametersNotAllowed: 400,
  InvalidRequestBody: 400,
  /** A Responses create continues a response nothing stored answers to (OpenAI's previous_response_not_found). */
  PreviousResponseNotFound: 400,
  /** An engine's 4xx that named no type of its own. */
  InvalidRequest: 400,
  InvalidJson: 400,
  /** A response.create on a WebSocket connection while its last response is still in progress. */
  ResponseInProgress: 400,
  /** A compaction item whose encrypted_content this gateway did not seal for this caller (forged, altered). */
  InvalidEncryptedContent: 400,
  /** A WebSocket connection past its age limit (--websocket-max-age; Azure: 60 minutes). */
  WebsocketConnectionLimitReached: 400,
  UnsupportedParameter: 400,
  Unauthorized: 401,
  /** A valid identity this gateway grants nothing to. */
  Forbidden: 403,
  /** A consumer's token quota (per day or month) is spent until it resets. */
  QuotaExceeded: 403,
  NotFound: 404,
  ModelNotFound: 404,
  DeploymentNotFound: 404,
  OperationNotSupported: 404,
  MethodNotAllowed: 405,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  UnsupportedParameterValue: 422,
  TooManyRequests: 429,
  ClientClosedRequest: 499,
  InternalServerError: 500,
  UpstreamUnavailable: 502,
  UpstreamInvalidResponse: 502,
  /** An engine's 5xx that named no type of its own. */
  UpstreamError: 502,
  UpstreamStreamError: 502,
  UpstreamRouteNotFound: 502,
  ServiceUnavailable: 503,
  UpstreamTimeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A code an engine gave (its error type, in PascalCase), passed on as the engine said it; made only by
 * upstream/engine-error.ts, so any other code must be one of the table's. */
export type EngineErrorCode = string & { readonly fromEngine: unique symbol };

export interface GatewayErrorOptions {
  /** Overrides the code's default status (upstream errors keep the engine's status). */
  status?: number;
  target?: string;
  headers?: Record<string, string>;
  cause?: unknown;
  /** For the log line only, never sent (an engine's whole error page, a transport error's code). */
  detail?: string;
}

export class GatewayError extends Error {
  readonly status: number;
  readonly code: ErrorCode | EngineErrorCode;
  readonly target?: string;
  readonly headers: Record<string, string>;
  readonly detail?: string;
  /** Gateway errors are written for clients; anything else is hidden behind a generic 500. */
  readonly expose = true;

  constructor(code: ErrorCode | EngineErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = options.status ?? (ERROR_STATUS as Record<string, number>)[code] ?? 500;
    if (options.target !== undefined) this.target = options.target;
    if (options.detail !== undefined) this.detail = options.detail;
    this.headers = options.headers ?? {};
  }
}

/** A dialect's error body for a gateway error (HTTP answers and stream error events). */
export type ErrorBody = (err: GatewayError) => unknown;

/** Maps Koa/http-errors style errors (koa-body, router) to gateway errors by status. */
export function fromHttpError(status: number, message: string, bodyLimitBytes: number): GatewayError {
  switch (status) {
    case 400:
      return new GatewayError("InvalidJson", `The request body is not valid JSON: ${message}`);
    case 413:
      return new GatewayError(
        "PayloadTooLarge",
        `The request body is larger than the gateway accepts: the limit is ${formatBytes(bodyLimitBytes)}, set by --body-limit (BODY_LIMIT).`,
      );
    case 415:
      return new GatewayError("UnsupportedMediaType", "The request body must be sent as 'application/json'.");
    default:
      return new GatewayError("InternalServerError", "The gateway failed to process the request.");
  }
}

/** 33554432 -> "32 MB" (binary units, as --body-limit reads them). */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ["GB", 1024 ** 3],
    ["MB", 1024 ** 2],
    ["KB", 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}
