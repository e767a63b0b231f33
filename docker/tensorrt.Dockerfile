# yolo-trt with TensorRT on x86_64 NVIDIA GPUs, on NVIDIA's TensorRT image (CUDA, TensorRT and cuDNN
# from NGC). 25.01 = TensorRT 10.8, CUDA 12.8; another TensorRT 10 tag works the same way:
#
#   docker build -f docker/tensorrt.Dockerfile -t yolo-trt:tensorrt .
#   docker run --rm --gpus all -p 8000:8000 -p 8001:8001 -v "$PWD/models:/models:ro" \
#     -v yolo-trt-engines:/var/cache/yolo-trt yolo-trt:tensorrt
#
# Engines are built at first load and cached in /var/cache/yolo-trt (mount a volume to keep them
# across restarts). The addon is the `tensorrt10` prebuilt variant (scripts/prebuild.mjs).
ARG TENSORRT_IMAGE=nvcr.io/nvidia/tensorrt:25.01-py3
ARG NODE_VERSION=24

# Node's binaries, taken from the official image instead of downloaded.
FROM node:${NODE_VERSION}-bookworm-slim AS node

FROM ${TENSORRT_IMAGE} AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake binutils \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/local/cuda/bin:${PATH} ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY CMakeLists.txt tsconfig.json tsconfig.build.json ./
COPY native ./native
COPY scripts ./scripts
COPY src ./src
# NVIDIA's image installs TensorRT's headers and libraries under /usr (Debian packages).
RUN node scripts/prebuild.mjs --variant=tensorrt10 --tensorrt-root=/usr \
    && npx tsc -p tsconfig.build.json \
    && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: the same image (it carries the CUDA and TensorRT libraries the addon links), without the
# sources and dev dependencies, as an unprivileged user.
FROM ${TENSORRT_IMAGE} AS runtime
COPY --from=node /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production YOLO_TRT_CACHE=/var/cache/yolo-trt
WORKDIR /opt/yolo-trt
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/prebuilds ./prebuilds
COPY bin ./bin
COPY src/server/grpc/inference.proto ./src/server/grpc/inference.proto
RUN ln -s /opt/yolo-trt/bin/yolo-trt.js /usr/local/bin/yolo-trt \
    && useradd --system --uid 10001 --create-home yolo \
    && mkdir -p /models /var/cache/yolo-trt \
    && chown yolo /var/cache/yolo-trt
USER yolo
EXPOSE 8000 8001
HEALTHCHECK --interval=15s --timeout=3s --start-period=300s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:8000/v2/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["yolo-trt", "serve", "--host", "0.0.0.0", "--port", "8000", "--grpc-port", "8001"]
CMD ["--model-repository", "/models", "--backend", "tensorrt"]
