// `api-version` on the Azure OpenAI routes (azure-openai-surface.md §1.4, §7.4, §8):
// - /openai/v1/…: optional; the v1 spec's enum is `v1` | `preview`.
// - /openai/deployments/…, /openai/models, /openai/responses: required; any dated version, since Azure
//   adds one every few months and the SDKs pass the caller's value through unchanged.
import { GatewayError } from "../../core/errors.ts";
import { apiVersionParam } from "../../core/http/query.ts";

const V1_VERSIONS = new Set(["v1", "preview"]);
const DATED = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(-preview)?$/;

export function checkV1ApiVersion(querystring: string): string | undefined {
  const value = apiVersionParam(querystring);
  if (value === undefined) return undefined;
  if (!V1_VERSIONS.has(value)) {
    throw new GatewayError(
      "UnsupportedApiVersionValue",
      `Unsupported api-version '${value.slice(0, 64)}' on /openai/v1: use 'v1' or 'preview', or leave it out. Dated versions go with the /openai/deployments routes.`,
      { target: "api-version" },
    );
  }
  return value;
}

export function checkDatedApiVersion(querystring: string): string {
  const value = apiVersionParam(querystring);
  if (value === undefined || value === "") {
    throw new GatewayError(
      "MissingApiVersionParameter",
      "The api-version query parameter (?api-version=) is required on this route, as YYYY-MM-DD or YYYY-MM-DD-preview (e.g. 2024-10-21). The /openai/v1 routes need none.",
      { target: "api-version" },
    );
  }
  if (!DATED.test(value)) {
    throw new GatewayError(
      "UnsupportedApiVersionValue",
      `Unsupported api-version '${value.slice(0, 64)}': expected YYYY-MM-DD or YYYY-MM-DD-preview (e.g. 2024-10-21, 2025-04-01-preview).`,
      { target: "api-version" },
    );
  }
  return value;
}
