# One image for the migrate job, the API, the registrar, the provisioning server and (optionally) the edge.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci's postinstall applies these (patch-package; see docs/registrar.md).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY api ./api
COPY registrar ./registrar
COPY edge ./edge
COPY embedded ./embedded
COPY provisioning ./provisioning
COPY console ./console
COPY shared ./shared
COPY scripts ./scripts
COPY bench ./bench
# The console's static files (dist/console-assets) are built here, while esbuild (a dev dependency) is installed.
RUN npx tsc -p tsconfig.json && node dist/console/build.js && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# The provisioning server reads its vendor templates from the source tree's place.
COPY shared/provisioning/templates ./shared/provisioning/templates
COPY package.json ./
USER node
# Same V8 flag as npm start and docker-compose.yml (docs/operations.md, "Garbage collection").
CMD ["node", "--heap-growing-percent=300", "dist/api/main.js"]
