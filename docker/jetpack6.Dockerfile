# Builds the Jetson prebuilt addon inside NVIDIA's JetPack container (arm64; no GPU needed to build).
# Default: JetPack 6.1 = L4T R36.4, CUDA 12.6, TensorRT 10.3, sm_87 (Orin). The same file builds
# JetPack 5 / 7 with other build args (scripts/build-jetson passes them):
#
#   docker build -f docker/jetpack6.Dockerfile --target artifact --output type=local,dest=. .
#   docker build -f docker/jetpack6.Dockerfile --build-arg BASE_IMAGE=nvcr.io/nvidia/l4t-jetpack:r35.4.1 \
#     --build-arg JETPACK=5 --target artifact --output type=local,dest=. .
#
# Result: prebuilds/linux-arm64/yolo_trt.jetpack<N>.{node,json} in the current folder.
#
# The `serve` stage is the server image for a Jetson (run with the NVIDIA container runtime):
#
#   docker build -f docker/jetpack6.Dockerfile --target serve -t yolo-trt:jetpack6 .
#   docker run --rm --runtime nvidia -p 8000:8000 -p 8001:8001 -v "$PWD/models:/models:ro" \
#     -v yolo-trt-engines:/var/cache/yolo-trt yolo-trt:jetpack6
ARG BASE_IMAGE=nvcr.io/nvidia/l4t-jetpack:r36.4.0
FROM ${BASE_IMAGE} AS build
ARG JETPACK=6
ARG NODE_VERSION=24.22.3

# Node (the image has none) and a CMake >= 3.19 (JetPack 5's Ubuntu 20.04 ships 3.16).
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl xz-utils build-essential python3-pip binutils \
    && python3 -m pip install --no-cache-dir 'cmake>=3.25' \
    && curl -fsSL "https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-arm64.tar.xz" \
       | tar -xJ -C /usr/local --strip-components=1 \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/local/cuda/bin:${PATH} TENSORRT_ROOT=/usr

WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY CMakeLists.txt ./
COPY native ./native
COPY scripts ./scripts
RUN node scripts/prebuild.mjs --variant=jetpack${JETPACK} --tensorrt-root=/usr

FROM scratch AS artifact
COPY --from=build /src/prebuilds /prebuilds

# The server: the addon above plus the compiled TypeScript and the production dependencies.
FROM build AS app
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime on the same L4T base (CUDA and TensorRT come from JetPack), as an unprivileged user.
FROM ${BASE_IMAGE} AS serve
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production YOLO_TRT_CACHE=/var/cache/yolo-trt
WORKDIR /opt/yolo-trt
COPY --from=app /src/package.json ./package.json
COPY --from=app /src/node_modules ./node_modules
COPY --from=app /src/dist ./dist
COPY --from=app /src/prebuilds ./prebuilds
COPY bin ./bin
COPY src/server/grpc/inference.proto ./src/server/grpc/inference.proto
RUN ln -s /opt/yolo-trt/bin/yolo-trt.js /usr/local/bin/yolo-trt \
    && useradd --system --uid 10001 --create-home yolo \
    && mkdir -p /models /var/cache/yolo-trt \
    && chown yolo /var/cache/yolo-trt
USER yolo
EXPOSE 8000 8001
HEALTHCHECK --interval=15s --timeout=3s --start-period=600s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:8000/v2/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["yolo-trt", "serve", "--host", "0.0.0.0", "--port", "8000", "--grpc-port", "8001"]
CMD ["--model-repository", "/models", "--backend", "tensorrt"]
