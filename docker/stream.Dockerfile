# The Salesforce Pub/Sub stream task (functions/stream/main.ts). Built by `cdk deploy` (never at
# synth); the build context is the project root, staged with only package*.json and functions/.
# Node.js 24 runs the TypeScript sources directly (type stripping), so there is no build step.
FROM public.ecr.aws/docker/library/node:24-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM public.ecr.aws/docker/library/node:24-alpine
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY functions ./functions
USER node
EXPOSE 8080
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=20", "functions/stream/main.ts"]
