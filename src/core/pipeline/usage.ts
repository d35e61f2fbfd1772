// An engine's usage, whichever API reported it, as the exchange keeps it: chat's prompt/completion tokens
// and their details, or the Responses API's input/output tokens and theirs.
import type { Usage } from "./exchange.ts";

interface EngineUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  input_tokens?: number;
  output_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
  input_tokens_details?: { cached_tokens?: number } | null;
  output_tokens_details?: { reasoning_tokens?: number } | null;
}

const count = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;

export function usageOf(raw: unknown): Usage | undefined {
  if (raw === null || typeof raw !== "object") return undefined;
  const u = raw as EngineUsage;
  return {
    prompt_tokens: count(u.prompt_tokens ?? u.input_tokens),
    completion_tokens: count(u.completion_tokens ?? u.output_tokens),
    cached_tokens: count(u.prompt_tokens_details?.cached_tokens ?? u.input_tokens_details?.cached_tokens),
    reasoning_tokens: count(u.completion_tokens_details?.reasoning_tokens ?? u.output_tokens_details?.reasoning_tokens),
  };
}
