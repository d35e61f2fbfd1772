# Embeddings and model info with the Azure AI Inference SDK for Python.
#   pip install azure-ai-inference
#   ENDPOINT=http://127.0.0.1:8000 python examples/python/embeddings.py
import os

from azure.ai.inference import EmbeddingsClient
from azure.ai.inference.models import EmbeddingEncodingFormat
from azure.core.credentials import AzureKeyCredential

client = EmbeddingsClient(
    endpoint=os.environ.get("ENDPOINT", "http://127.0.0.1:8000"),
    credential=AzureKeyCredential(os.environ.get("API_KEY", "none")),
    api_version="2025-05-01",
)

print(client.get_model_info())

response = client.embed(input=["first phrase", "second phrase"])
for item in response.data:
    print(f"#{item.index}: {len(item.embedding)} floats, first {item.embedding[:3]}")

# int8 is computed by the gateway from the engine's floats.
response = client.embed(input=["first phrase"], encoding_format=EmbeddingEncodingFormat.INT8)
print("int8:", response.data[0].embedding[:8])
