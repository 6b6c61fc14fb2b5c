# Multi-stage build: compile TypeScript in one stage, run the compiled service with production dependencies only.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# The console (web/), built to static assets that the service serves at /.
COPY web ./web
COPY scripts/build-web.ts ./scripts/build-web.ts
RUN npm run build:web

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
# A young generation of up to 64 MB per semi-space (V8's default: 16): a streamed turn's objects live about a
# second, and with the default the service collected them in three times as many pauses (bench/README.md,
# advisor streaming overhead). Set NODE_OPTIONS to something else to override it.
ENV NODE_OPTIONS=--max-semi-space-size=64
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY bin ./bin
COPY chains ./chains
COPY prompts ./prompts
COPY loaders ./loaders
COPY examples ./examples
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
