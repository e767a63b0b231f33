# yolo-trt on CPU (onnxruntime-node): the image deploy/compose.yaml builds and deploy/kubernetes/ runs.
#
#   docker build -f docker/cpu.Dockerfile -t yolo-trt:cpu .
#   docker run --rm -p 8000:8000 -p 8001:8001 -v "$PWD/models:/models:ro" yolo-trt:cpu
#
# The last line serves the Triton-style repository mounted at /models (`<name>.onnx` or
# `<name>/<version>/model.onnx`); arguments after the image name replace CMD (any `yolo-trt serve` flag).
# HTTP (KServe v2, /metrics) on 8000, gRPC on 8001. Runs as the image's unprivileged `node` user.
ARG NODE_VERSION=24

# Build: compilers and CMake, every dependency, then only the production ones are kept.
FROM node:${NODE_VERSION}-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# onnxruntime-node ships its CPU libraries; its install script would only fetch CUDA ones.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY CMakeLists.txt tsconfig.json tsconfig.build.json ./
COPY native ./native
COPY scripts ./scripts
COPY src ./src
# The CPU variant of the addon (prebuilds/linux-<arch>/yolo_trt.cpu.node: letterbox, NMS, decoding),
# the compiled TypeScript, and node_modules without the dev dependencies.
RUN node scripts/prebuild.mjs --variant=cpu \
    && npx tsc -p tsconfig.build.json \
    && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: the slim Node image, no compilers, no sources but the gRPC protocol file.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production YOLO_TRT_CACHE=/var/cache/yolo-trt
WORKDIR /opt/yolo-trt
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/prebuilds ./prebuilds
COPY bin ./bin
COPY src/server/grpc/inference.proto ./src/server/grpc/inference.proto
RUN ln -s /opt/yolo-trt/bin/yolo-trt.js /usr/local/bin/yolo-trt \
    && mkdir -p /models /var/cache/yolo-trt \
    && chown node:node /var/cache/yolo-trt
USER node
EXPOSE 8000 8001
# Ready = every model has a serving version (docs/serving.md); the port is the one ENTRYPOINT sets.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:8000/v2/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["yolo-trt", "serve", "--host", "0.0.0.0", "--port", "8000", "--grpc-port", "8001"]
CMD ["--model-repository", "/models"]
