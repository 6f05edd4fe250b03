#!/bin/sh
# The official path: onnxruntime-node's own installer downloads ORT 1.29.0's CUDA 12 execution
# provider (libonnxruntime_providers_cuda.so + _shared) from NuGet into its bin folder. Needs
# internet access to api.nuget.org and, at run time, the CUDA 12 + cuDNN 9 runtime libraries.
# `npm ci` runs no install scripts (.npmrc: ignore-scripts=true, onnxruntime-node-install=skip, which
# is unset here), so it stays CPU-only; this runs
# onnxruntime-node's installer itself, told which provider by its own ONNXRUNTIME_NODE_INSTALL.
# Without npm's npm_config_local_prefix and npm_package_json: under `npm run install:cuda12` they name
# this project, and install.js 1.29.0 then takes itself for a `npm ci` inside onnxruntime-node's own
# repository and exits without installing (its value cuda12 does not reach that check).
set -eu
env -u npm_config_local_prefix -u npm_package_json -u npm_config_onnxruntime_node_install ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js
BIN=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
for lib in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
  test -f "$BIN/$lib" || { echo "install:cuda12: $BIN/$lib is missing after the install" >&2; exit 1; }
done
echo "installed the CUDA 12 execution provider into $BIN; start with EXECUTION_PROVIDER=cuda"
