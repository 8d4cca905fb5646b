# The local shape in a container: `ml-connector start` (receiver, CDC stream, backfill schedule and
# workers in one process over SQLite), for a VM, Docker or Kubernetes. Build from the project root:
#   docker build -f docker/local.Dockerfile -t ml-connector:local .
# How to run it (configuration, credentials, the state volume, the health check): docs/CONTAINER.md.
#
# The image holds exactly the npm package: the first stage builds it the way a release does
# (`npm pack` runs the esbuild build, scripts/build.ts), the second installs that tarball with its
# production dependencies only. No TypeScript sources, no development dependencies.
FROM public.ecr.aws/docker/library/node:24-slim AS package
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY bin ./bin
COPY functions ./functions
COPY sandbox ./sandbox
COPY scripts ./scripts
COPY docs ./docs
COPY README.md CHANGELOG.md ./
RUN npm pack --pack-destination /tmp/package

FROM public.ecr.aws/docker/library/node:24-slim
ENV NODE_ENV=production \
    XDG_CONFIG_HOME=/state/config
COPY --from=package /tmp/package/ /tmp/package/
RUN npm install --global --omit=dev --no-audit --no-fund /tmp/package/ml-connector-*.tgz \
 && rm -rf /tmp/package && npm cache clean --force \
 && mkdir -p /state /config && chown node:node /state
# The state (SQLite state and queue, the $metadata cache, credentials stored by `credentials set`)
# lives in the volume, which is also the working directory (relative default paths land there),
# owned by the unprivileged `node` user (uid 1000) the process runs as.
VOLUME ["/state"]
WORKDIR /state
USER node
# 8080: the business-event receiver (put TLS in front of it); 8081: GET /health.
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8081/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The installed command; its shebang (`env -S node --max-semi-space-size=8 --heap-growing-percent=20`) needs an env with -S,
# as GNU coreutils' in the Debian-based slim image has.
ENTRYPOINT ["ml-connector"]
# Every command finds the state at its default path, .ml-connector/state.db under /state.
CMD ["start", "--config", "/config/ml-connector.yaml", \
     "--receiver-host", "0.0.0.0", "--receiver-port", "8080", "--health-host", "0.0.0.0", "--health-port", "8081"]
