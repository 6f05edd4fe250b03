#!/usr/bin/env bash
# Builds .dev/ (git-ignored): everything run-device.sh needs that the
# device machine lacks (it has no network and may have no node), cut to fit the 64 MiB a call
# may carry. Run here, from the repo root, after `npm ci && npm run build`.
set -euo pipefail
PKG=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
TMP=$(mktemp -d)
rm -rf .dev && mkdir .dev
(cd "$TMP" && npm pack "$PKG" --silent >/dev/null && tar xzf ./*.tgz)
LIBS=$TMP/package/Plugins/Linux/x64
cp "$LIBS"/libonnxruntime_providers_shared.so "$LIBS"/libonnxruntime_providers_tensorrt.so .dev/
cp "$(command -v node)" "$TMP/node"
(cd "$LIBS" && sha256sum libonnxruntime_providers_*.so) > .dev/SHA256SUMS
(cd "$TMP" && sha256sum node) >> .dev/SHA256SUMS
xz -T0 -6 -c "$LIBS/libonnxruntime_providers_cuda.so" | split -b 55M -a 2 - .dev/cuda.part-   # 165 MB → 3 chunks
xz -T0 -6 -c "$TMP/node" > .dev/node.xz                                                        # 99 MB → 24 MB
# Production node_modules (linux-x64 ORT only) and the compiled dist/.
mkdir "$TMP/prod" && cp package.json package-lock.json .npmrc "$TMP/prod/"
(cd "$TMP/prod" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund >/dev/null &&
  rm -rf node_modules/onnxruntime-node/bin/napi-v6/{darwin,win32,linux/arm64})
cp -r dist "$TMP/prod/dist"
(cd "$TMP/prod" && tar cf - node_modules dist) | xz -T0 -6 > .dev/nm.tar.xz
ls -la .dev
rm -rf "$TMP"
