#!/usr/bin/env bash
# Prepares llama.cpp for act's optional llama.cpp integration (act-llama, tests/llama):
# fetches llama.cpp's release source from the npm registry and installs CPU-only shared libraries with
# their CMake package into DEST/prefix. Nothing of llama.cpp is kept in act's repository.
#
#   bash cmake/prepare_llama.sh [DEST]          DEST defaults to build/llama (next to the presets' build folders)
#
# Where the source comes from: the npm package node-llama-cpp ships llama.cpp's release as a git bundle
# (package/llama/gitRelease.bundle, release tag in package/llama/llama.cpp.info.json). `npm pack` only
# downloads the tarball (no install scripts run); the bundle is cloned into DEST/src.
#
# What is built: the libraries llama, llama-common, ggml, ggml-base, ggml-cpu (shared, Release,
# GGML_NATIVE=OFF: the fixed x86-64 set SSE4.2/AVX/AVX2/FMA/F16C/BMI2, so numbers do not depend on the
# machine's newest instructions), the RPC backend ggml-rpc with its server ggml-rpc-server (tests/llama
# runs one on 127.0.0.1 to keep tensors off the host, as a GPU would) and the tool llama-cvector-generator
# (tests/llama compares with its files). No GPU backends and no other tools.
#
# Result: DEST/prefix/{include,lib,lib/cmake/llama,bin/llama-cvector-generator,bin/ggml-rpc-server}; configure act with
#   -DACT_BUILD_LLAMA=ON -DLLAMA_CPP_DIR=DEST/prefix          (the test preset does this for build/llama)
# Every step is skipped when its result is there, so a second run takes no time; DEST/prefix/.stamp-<tag>
# marks a finished build. Log files: DEST/*.log.
#
# Environment: ACT_LLAMA_NPM_VERSION (node-llama-cpp version, default 3.22.1 = llama.cpp v0.5.0),
#              JOBS (parallel compile jobs, default 2), NICE (nice level of the compile, default 10).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dest=$(realpath -m "${1:-$here/build/llama}")
version=${ACT_LLAMA_NPM_VERSION:-3.22.1}
jobs=${JOBS:-2}
niceness=${NICE:-10}

say() { printf 'prepare_llama: %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }
for tool in npm git cmake c++ tar; do
  command -v "$tool" >/dev/null || fail "'$tool' is missing (apt-get install cmake g++ git nodejs npm)"
done
mkdir -p "$dest"
cd "$dest"
started=$SECONDS

# 1. The npm tarball and the source tree cloned from its bundle.
tarball="node-llama-cpp-$version.tgz"
if [ ! -s "$tarball" ]; then
  say "npm pack node-llama-cpp@$version"
  npm pack --silent "node-llama-cpp@$version" >npm-pack.log 2>&1 || { cat npm-pack.log >&2; fail "npm pack failed"; }
  [ -s "$tarball" ] || fail "npm pack did not produce $tarball"
fi
if [ ! -f package/.unpacked ]; then
  rm -rf package
  tar xzf "$tarball" package/llama/llama.cpp.info.json package/llama/gitRelease.bundle
  touch package/.unpacked
fi
tag=$(sed -n 's/.*"tag"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' package/llama/llama.cpp.info.json)
[ -n "$tag" ] || fail "no release tag in package/llama/llama.cpp.info.json"
if [ ! -f src/.cloned ]; then
  rm -rf src
  say "clone llama.cpp $tag from the bundle"
  git -c advice.detachedHead=false clone -q package/llama/gitRelease.bundle src
  touch src/.cloned
fi

# 2. Configure, build the library targets and the one tool, install into prefix/.
stamp="prefix/.stamp-$tag-rpc"
if [ ! -f "$stamp" ]; then
  rm -rf prefix
  say "configure llama.cpp $tag (CPU only, shared libraries)"
  cmake -S src -B build -G "Unix Makefiles" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$dest/prefix" -DBUILD_SHARED_LIBS=ON \
    -DGGML_NATIVE=OFF -DGGML_CCACHE=OFF -DGGML_RPC=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_TOOLS_INSTALL=ON \
    -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_BUILD_NUMBER=0 -DLLAMA_BUILD_COMMIT="$tag" \
    '-DCMAKE_INSTALL_RPATH=$ORIGIN:$ORIGIN/../lib' >configure.log 2>&1 || { tail -n 40 configure.log >&2; fail "configure failed"; }
  # The installed libraries carry RUNPATH $ORIGIN: a program linked with --as-needed (Debian's default)
  # only records libllama, which then finds libggml* next to itself.
  say "build (nice $niceness, -j$jobs; log $dest/build.log)"
  nice -n "$niceness" cmake --build build -j "$jobs" --target llama llama-common llama-cvector-generator ggml-rpc ggml-rpc-server \
    >build.log 2>&1 || { tail -n 40 build.log >&2; fail "build failed"; }
  # Install only what was built: each folder's own install rules (CMAKE_INSTALL_LOCAL_ONLY), as the
  # top-level install script would also want every tool of the tree.
  for dir in build build/ggml build/ggml/src build/ggml/src/ggml-rpc build/tools/cvector-generator build/tools/rpc; do
    cmake -DCMAKE_INSTALL_LOCAL_ONLY=ON -P "$dir/cmake_install.cmake" >>install.log 2>&1 ||
      { tail -n 40 install.log >&2; fail "install from $dir failed"; }
  done
  [ -f prefix/lib/cmake/llama/llama-config.cmake ] || fail "no CMake package in $dest/prefix (see install.log)"
  touch "$stamp"
fi
say "llama.cpp $tag ready in $dest/prefix ($((SECONDS - started)) s)"
