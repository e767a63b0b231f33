# Builds the Jetson prebuilt addon inside NVIDIA's JetPack container (arm64; no GPU needed to build).
# Default: JetPack 6.1 = L4T R36.4, CUDA 12.6, TensorRT 10.3, sm_87 (Orin). The same file builds
# JetPack 5 / 7 with other build args (scripts/build-jetson passes them):
#
#   docker build -f docker/jetpack6.Dockerfile --target artifact --output type=local,dest=. .
#   docker build -f docker/jetpack6.Dockerfile --build-arg BASE_IMAGE=nvcr.io/nvidia/l4t-jetpack:r35.4.1 \
#     --build-arg JETPACK=5 --target artifact --output type=local,dest=. .
#
# Result: prebuilds/linux-arm64/yolo_trt.jetpack<N>.{node,json} in the current folder.
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
