# The claudecode-api service. Multi-stage: the build stage compiles TypeScript and the native
# SQLite binding, then bundles the service into one file (scripts/bundle-api.mjs); the runtime
# stage is plain Debian with the node binary, that bundle and the few packages that must stay on
# disk (~20 MB instead of ~200 MB of node_modules), and runs as `node`.
FROM node:22-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary can be downloaded; the headers
# come with the node image (nodedir), so no download is needed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
# --omit=optional: the Agent SDK's bundled CLI binary is not needed; the CLI runs in the agent
# containers, never in the API. esbuild's own binary is optional too: its install script fetches
# it from the registry instead (the bundle step below fails if it could not).
RUN npm ci --omit=optional --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY scripts/bundle-api.mjs ./scripts/
# Bundle the compiled dist/ (which carries the decorator metadata), not the sources.
RUN npm run build \
 && node scripts/bundle-api.mjs /app/image

# Not the node image: its npm, yarn and headers are not needed to run; Debian's slim image already
# has every library the node binary links (libstdc++, libgcc_s).
FROM debian:bookworm-slim
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# The same user as the node image's, so the data volume's ownership carries over.
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/image ./
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
VOLUME ["/app/data"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/bundle/main.js"]
