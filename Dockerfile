# Troupe's image: one image for every command (troupe migrate|gateway|logic|repo|task|dev);
# compose.yaml picks the role with `command:`. Build it with `docker build -t troupe .`.
#
# Two stages: the build stage holds the compilers, the dev dependencies and the TypeScript
# sources; the runtime stage gets only what `node dist/bin/troupe.js` reads (the compiled code,
# the production dependencies, config/default.yaml, web/ and package.json for --version).
# Both stages use the same base so that the native addons built in the first (argon2,
# better-sqlite3, uWebSockets.js) load in the second. Bookworm (glibc 2.36), not a
# newer Debian or Alpine: the uWebSockets.js build named in package.json was checked against it.

FROM node:20-bookworm-slim AS build
# node-gyp's toolchain: only used when a native addon has no prebuilt binary for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# Dependencies first, in their own layer, so that editing a source file does not reinstall them.
# --ignore-scripts because the root `prepare` script compiles the sources, which are not here
# yet; `npm rebuild` then runs the dependencies' own install scripts (native addons) but not
# the root's.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild

# .dockerignore keeps node_modules, dist, spec and the rest of the working tree out.
COPY . .
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund


FROM node:20-bookworm-slim AS runtime
# Embedded mode's files and the gateways' signing keys (<dataDir>/keys) live in TROUPE_DATA_DIR,
# outside the read-only application folder; compose.yaml mounts a shared volume on the keys.
ENV NODE_ENV=production \
    TROUPE_DATA_DIR=/var/lib/troupe
WORKDIR /app

# Application files belong to root and are only readable by the `node` user that runs them.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config/default.yaml ./config/default.yaml
COPY --from=build /app/web ./web

# A named volume mounted on a folder copies the folder's owner and mode on first use, so the
# non-root user can write the keys into a fresh volume.
RUN mkdir -p /var/lib/troupe/keys \
 && chown -R node:node /var/lib/troupe \
 && chmod 700 /var/lib/troupe/keys

USER node

# gateway (WebSocket + HTTP API + /healthz /readyz /metrics), repo gRPC, ops listener of logic/repo/task.
EXPOSE 8080 7070 9090

# Every role drains on SIGTERM (readiness 503, finish in-flight work, deregister, exit 0).
# Node runs as PID 1 directly, not under npm or a shell, so the signal reaches it and its
# exit status is the container's.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/bin/troupe.js"]
CMD ["--help"]
