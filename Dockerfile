# Placeholder until the Docker issue: the engine targets (tgi, vllm, sglang, tei-cpu, tei-gpu) land there.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci
COPY src ./src
COPY generated ./generated
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS gateway
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
EXPOSE 80
ENTRYPOINT ["node", "dist/src/main.js"]
