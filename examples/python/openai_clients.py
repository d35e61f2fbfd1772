"""The `openai` package's three Azure set-ups against the gateway (pip install openai).

Run: ENDPOINT=http://127.0.0.1:8000 python examples/python/openai_clients.py
"""
import os

from openai import AzureOpenAI, OpenAI

endpoint = os.environ.get("ENDPOINT", "http://127.0.0.1:8000")
key = os.environ.get("API_KEY", "none")

# 1. Code written for Azure OpenAI deployments: /openai/deployments/{deployment}/...?api-version=...
azure = AzureOpenAI(azure_endpoint=endpoint, api_key=key, api_version="2024-10-21")
chat = azure.chat.completions.create(model="my-deployment", messages=[{"role": "user", "content": "Hello!"}], max_tokens=32)
print("deployments chat:", chat.choices[0].message.content)

# 2. What Microsoft recommends now: the plain client at <endpoint>/openai/v1, model = deployment name.
v1 = OpenAI(base_url=f"{endpoint}/openai/v1", api_key=key)
response = v1.responses.create(model="my-deployment", input="What is the capital of France?", max_output_tokens=32)
print("v1 responses:", response.output_text)
with v1.responses.stream(model="my-deployment", input="Tell me a story.", max_output_tokens=16) as stream:
    for event in stream:
        if event.type == "response.output_text.delta":
            print(event.delta, end="", flush=True)
print()

# 3. The engine's own OpenAI API through the gateway: /v1.
engine = OpenAI(base_url=f"{endpoint}/v1", api_key=key)
model = engine.models.list().data[0].id
vectors = engine.embeddings.create(model=model, input=["first phrase", "second phrase"])
print("engine embeddings:", len(vectors.data), "vectors of", len(vectors.data[0].embedding), "values")
