// Requests the engine is generating for now, from its Prometheus /metrics (llama.cpp or vLLM);
// undefined when it exposes no such metric. Used to see that a client disconnect stopped the generation.
export async function requestsProcessing(engineUrl: string): Promise<number | undefined> {
  const text = await fetch(`${engineUrl}/metrics`).then((r) => (r.ok ? r.text() : ""));
  const line = text.split("\n").find((l) => /^(llamacpp:requests_processing|vllm:num_requests_running)\b/.test(l));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}
