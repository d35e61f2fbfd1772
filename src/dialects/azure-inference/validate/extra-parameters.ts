// `extra-parameters` header (A#/definitions/ExtraParameters): what happens to top-level body keys the
// operation's schema does not declare for the requested api-version. Absent means `error`, the Azure default.
import { GatewayError } from "../../../core/errors.ts";

export type ExtraParametersMode = "error" | "drop" | "pass-through";

export function parseExtraParameters(header: string | string[] | undefined): ExtraParametersMode {
  if (header === undefined) return "error";
  const value = (Array.isArray(header) ? header.join(",") : header).trim().toLowerCase();
  if (value === "error" || value === "drop" || value === "pass-through") return value;
  throw new GatewayError(
    "InvalidExtraParametersHeader",
    `Invalid value '${value.slice(0, 64)}' for header 'extra-parameters'. Allowed values are 'error', 'drop' and 'pass-through'.`,
  );
}

const NO_EXTRAS: Readonly<Record<string, unknown>> = Object.freeze({});

/** Splits a body into its declared keys and its extras, applying the mode. Throws under `error`. */
export function splitExtras<T extends Record<string, unknown>>(
  body: T,
  known: ReadonlySet<string>,
  mode: ExtraParametersMode,
): { known: T; extras: Record<string, unknown> } {
  let hasExtras = false;
  for (const key in body) if (!known.has(key)) hasExtras = true;
  if (!hasExtras) return { known: body, extras: NO_EXTRAS }; // the common case allocates nothing
  const extraKeys = Object.keys(body).filter((key) => !known.has(key));
  if (mode === "error") {
    throw new GatewayError(
      "ExtraParametersNotAllowed",
      `Extra parameters [${extraKeys.map((k) => `'${k.slice(0, 64)}'`).join(", ")}] are not allowed when the 'extra-parameters' header is absent or set to 'error'. Set it to 'pass-through' to send them to the model, or 'drop' to ignore them.`,
      { target: extraKeys[0]! },
    );
  }
  const knownPart: Record<string, unknown> = {};
  const extras: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) (known.has(key) ? knownPart : extras)[key] = value;
  return { known: knownPart as T, extras: mode === "pass-through" ? extras : {} };
}
