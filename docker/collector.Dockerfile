# syntax=docker/dockerfile:1
# transit-fusion collector: Polls pull vendors on their schedules and drains push vendors' subscriptions into vendor snapshots.
# Build from the repository root:  docker build -f docker/collector.Dockerfile -t transit-fusion/collector .

# --- build: the whole workspace from the lockfile, then only this service's production bundle -------------------
FROM node:20.19-bookworm-slim AS build
WORKDIR /src
COPY . .
# Install scripts off: nothing here needs one (native addons ship prebuilt), and none should run at build time.
# npm's download cache survives between builds (BuildKit), so a source change does not download everything again.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
# dist/services/collector: main.js, the node_modules files it loads (traced) and its assets; see tools/package-service.ts.
RUN NX_DAEMON=false NX_NO_CLOUD=true npx nx run @transit-fusion/collector:package --skip-nx-cache

# --- run: Node and the bundle, nothing else -----------------------------------------------------------------------
FROM node:20.19-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root, run as the image's unprivileged user: the service cannot modify its own code.
COPY --from=build /src/dist/services/collector/ ./
USER node
# HTTP: /healthz, /readyz, /metrics
EXPOSE 8082
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.TF_COLLECTOR_PORT || 8082) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, Node as PID 1: SIGTERM reaches the service itself, which drains and exits within its shutdown timeout.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--enable-source-maps", "main.js"]
