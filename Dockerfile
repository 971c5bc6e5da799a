# syntax=docker/dockerfile:1
# Multi-stage build for a Hugging Face Space (sdk: docker, app_port: 7860) or any Docker host.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=7860 HOST=0.0.0.0
WORKDIR /app
# the image's uid-1000 user ("node"), as Hugging Face Spaces run containers
COPY --from=build --chown=1000:1000 /app/node_modules ./node_modules
COPY --from=build --chown=1000:1000 /app/dist ./dist
COPY --chown=1000:1000 package.json ./
RUN mkdir -p /app/data && chown 1000:1000 /app/data
USER 1000
EXPOSE 7860
# SIGTERM drains: readiness goes 503, streams in flight finish up to SHUTDOWN_GRACE_MS
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
