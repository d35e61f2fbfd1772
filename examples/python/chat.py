# A chat completion and a streamed one with the Azure AI Inference SDK for Python.
#   pip install azure-ai-inference
#   ENDPOINT=http://127.0.0.1:8000 python examples/python/chat.py
import os

from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import SystemMessage, UserMessage
from azure.core.credentials import AzureKeyCredential

client = ChatCompletionsClient(
    endpoint=os.environ.get("ENDPOINT", "http://127.0.0.1:8000"),
    credential=AzureKeyCredential(os.environ.get("API_KEY", "none")),
    api_version="2025-05-01",
)

response = client.complete(
    messages=[SystemMessage("You are a helpful assistant."), UserMessage("What is the capital of France?")],
    max_tokens=64,
)
print(response.choices[0].message.content)
print("usage:", response.usage)

# Streaming: the gateway sends only `data:` lines and one [DONE], which this SDK requires.
for update in client.complete(stream=True, messages=[UserMessage("Tell me a short story.")], max_tokens=128):
    if update.choices:
        print(update.choices[0].delta.content or "", end="", flush=True)
    if update.usage:
        print("\nusage:", update.usage)

# model_extras: engine parameters the Azure schema does not have. The SDK then sends
# `extra-parameters: pass-through` and the gateway forwards them to the engine.
response = client.complete(messages=[UserMessage("Hi")], max_tokens=16, model_extras={"top_k": 40, "repetition_penalty": 1.1})
print(response.choices[0].message.content)
