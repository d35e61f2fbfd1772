// Shared by the examples: an Azure AI Inference client for ENDPOINT (default: the demo's gateway).
import ModelClient from "@azure-rest/ai-inference";
import { AzureKeyCredential } from "@azure/core-auth";

export const endpoint = process.env.ENDPOINT ?? "http://127.0.0.1:8000";

export const client = ModelClient(endpoint, new AzureKeyCredential(process.env.API_KEY ?? "none"), {
  // Needed for a plain-http endpoint such as a local gateway; drop it for https.
  allowInsecureConnection: endpoint.startsWith("http://"),
  apiVersion: "2025-05-01",
});
