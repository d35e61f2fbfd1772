// A served model id (from O#/components/schemas/ListModelsResponse) -> A#/definitions/ModelInfo (§13.6).
import type { AzureModelInfo, AzureModelType } from "./types.ts";

/** `org/name` -> provider `org`, name `name`; a local path (`/models/x`) or a bare id keeps the id whole
 * and reports the provider as unknown. */
export function splitModelId(id: string): { provider: string; name: string } {
  const trimmed = id.replace(/\/+$/, "");
  if (trimmed.startsWith("/") || trimmed.startsWith(".")) {
    return { provider: "unknown", name: trimmed.slice(trimmed.lastIndexOf("/") + 1) || trimmed };
  }
  const slash = trimmed.indexOf("/");
  if (slash <= 0) return { provider: "unknown", name: trimmed };
  return { provider: trimmed.slice(0, slash), name: trimmed.slice(slash + 1) };
}

export function toAzureModelInfo(modelId: string, type: AzureModelType): AzureModelInfo {
  const { provider, name } = splitModelId(modelId);
  return { model_name: name, model_type: type, model_provider_name: provider };
}
