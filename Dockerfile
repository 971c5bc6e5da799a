# syntax=docker/dockerfile:1
# Multi-stage build for a Hugging Face Space (sdk: docker, app_port: 7860) or any Docker host.
# `npm run test:image` builds this file with a real engine and runs the image as a Space does (docs/image-test.md).
FROM node:24-bookworm-slim AS build
WORKDIR /app
# compilers for better-sqlite3 when no prebuilt binary can be downloaded; they stay in this stage
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
# dependencies first, so their layer (and the native build) is reused while only the source changes; the
# project's own `prepare` (the build) needs the source, so dependencies install without scripts and are rebuilt
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY deploy/prune.mjs ./deploy/
# the build, then only production dependencies; of gpt-tokenizer only the files the token counter loads (the o200k
# encoding) and of OpenTelemetry only the files the tracing setup loads, no *.map and *.d.ts anywhere (the script
# probes before and after in fresh processes and fails on any difference); of better-sqlite3 only the addon (not
# its C sources, object files and static library)
RUN npm run build && npm prune --omit=dev --no-audit --no-fund \
  && node deploy/prune.mjs \
  && cd node_modules/better-sqlite3 \
  && mv build/Release/better_sqlite3.node /tmp/ \
  && rm -rf build deps src \
  && mkdir -p build/Release && mv /tmp/better_sqlite3.node build/Release/

FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=7860 HOST=0.0.0.0
WORKDIR /app
# code owned by root, read-only to the gateway
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# uid 1000 (the image's "node" user) is how Hugging Face Spaces run containers. The gateway keeps its state in
# /data when it can write there (a Space's persistent storage is mounted there), else in /app/data. /data exists
# in the image, owned by uid 1000, so a Docker named volume mounted there starts with that owner (Docker gives a
# volume mounted where the image has no directory to root, and the gateway would silently fall back to /app/data).
RUN mkdir -p /app/data /data && chown 1000:1000 /app/data /data && chmod 0700 /app/data /data
USER 1000
EXPOSE 7860
# SIGTERM drains: readiness goes 503, streams in flight finish up to SHUTDOWN_GRACE_MS
STOPSIGNAL SIGTERM
# one V8 helper thread, as `npm start` runs it: Node starts four whatever the cores, and on a small machine they take
# the core from the streams while a full collection marks (docs/performance.md, "Sixteenth round")
CMD ["node", "--v8-pool-size=1", "dist/main.js"]
