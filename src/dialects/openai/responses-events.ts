// Responses stream events as the API defines them, whatever the engine left out. llama.cpp numbers
// nothing and leaves out `output_index`, `content_index`, `item_id`, `created_at` and `model` in places;
// the `openai` SDK's responses.stream() and the AI SDK's streamText read them. What is missing is
// derived from the events already seen (the item being written, its part); what the engine sent is kept.

type Json = Record<string, unknown>;

/** The response object the events carry (O#/components/schemas/Response), as far as it is completed here. */
interface ResponseFacts {
  id?: string;
  createdAt: number;
  model?: string;
}

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** Events that name a place in the output (the item, and the content part for text). */
const IN_ITEM = new Set([
  "response.function_call_arguments.delta",
  "response.function_call_arguments.done",
  "response.reasoning_text.delta",
  "response.reasoning_text.done",
  "response.reasoning_summary_text.delta",
  "response.reasoning_summary_text.done",
  "response.reasoning_summary_part.added",
  "response.reasoning_summary_part.done",
  "response.refusal.delta",
  "response.refusal.done",
]);
const IN_PART = new Set([
  "response.output_text.delta",
  "response.output_text.done",
  "response.content_part.added",
  "response.content_part.done",
]);
const WITH_RESPONSE = new Set([
  "response.created",
  "response.in_progress",
  "response.completed",
  "response.incomplete",
  "response.failed",
  "response.queued",
]);
const STATUS_OF: Record<string, string> = {
  "response.created": "in_progress",
  "response.in_progress": "in_progress",
  "response.queued": "queued",
  "response.completed": "completed",
  "response.incomplete": "incomplete",
  "response.failed": "failed",
};

/** A completer for one stream: `complete(event)` fills in what is missing and says whether it changed
 * anything (the event is then serialised again). `requestedModel` names the model when the engine does not. */
export function createResponsesEventCompleter(
  requestedModel: string | undefined,
): (event: Json & { type: string }) => boolean {
  const facts: ResponseFacts = {
    createdAt: Math.floor(Date.now() / 1000),
    ...(requestedModel ? { model: requestedModel } : {}),
  };
  const items: Json[] = []; // by output index: the item added, then the item done
  let itemIndex = -1;
  let partIndex = -1;

  const fill = (target: Json, key: string, value: unknown): boolean => {
    if (target[key] !== undefined || value === undefined) return false;
    target[key] = value;
    return true;
  };

  const completeResponse = (event: Json, type: string): boolean => {
    let changed = false;
    if (!isObject(event.response)) {
      event.response = {
        id: facts.id ?? `resp_${facts.createdAt}`,
        object: "response",
        status: STATUS_OF[type],
        output: type === "response.completed" ? items.filter(Boolean) : [],
        error: null,
        incomplete_details: null,
      };
      changed = true;
    }
    const response = event.response as Json;
    if (typeof response.id === "string") facts.id ??= response.id;
    if (typeof response.created_at === "number") facts.createdAt = response.created_at;
    if (typeof response.model === "string" && response.model) facts.model = response.model;
    changed = fill(response, "object", "response") || changed;
    changed = fill(response, "created_at", facts.createdAt) || changed;
    changed = fill(response, "model", facts.model) || changed;
    return changed;
  };

  return (event) => {
    const { type } = event;
    if (WITH_RESPONSE.has(type)) return completeResponse(event, type);
    let changed = false;
    if (type === "response.output_item.added" || type === "response.output_item.done") {
      const added = type === "response.output_item.added";
      if (typeof event.output_index !== "number") {
        event.output_index = added ? itemIndex + 1 : Math.max(itemIndex, 0);
        changed = true;
      }
      itemIndex = event.output_index as number;
      if (added) partIndex = -1;
      const item = isObject(event.item) ? event.item : undefined;
      if (item) {
        changed =
          fill(
            item,
            "id",
            (items[itemIndex]?.id as string | undefined) ??
              `${item.type === "function_call" ? "fc" : "msg"}_${facts.createdAt}_${itemIndex}`,
          ) || changed;
        items[itemIndex] = item;
      }
      return changed;
    }
    const inPart = IN_PART.has(type);
    if (!inPart && !IN_ITEM.has(type)) return false;
    changed = fill(event, "output_index", Math.max(itemIndex, 0)) || changed;
    changed = fill(event, "item_id", items[event.output_index as number]?.id) || changed;
    if (inPart) {
      if (type === "response.content_part.added" && typeof event.content_index !== "number") partIndex += 1;
      else if (typeof event.content_index === "number") partIndex = event.content_index;
      changed = fill(event, "content_index", Math.max(partIndex, 0)) || changed;
      if (type === "response.output_text.delta" || type === "response.output_text.done")
        changed = fill(event, "logprobs", []) || changed;
      // An output_text part carries its annotations and logprobs (llama.cpp's content_part events leave them out).
      const part = isObject(event.part) ? event.part : undefined;
      if (part?.type === "output_text") {
        changed = fill(part, "annotations", []) || changed;
        changed = fill(part, "logprobs", []) || changed;
      }
    }
    return changed;
  };
}
