#!/usr/bin/env bash
# Prepares a Debian 12 machine for act and runs the demo: the Debian packages the build, the tests and the
# examples use; @huggingface/gguf from the npm registry (the tests read act's control vectors with it);
# llama.cpp from the npm registry, built once into build/llama (cmake/prepare_llama.sh); then
# `cmake --workflow --preset demo`. Run as root (or with sudo). Every step is skipped when its result is
# there, so a second run only rebuilds and reruns the demo.
#
#   bash cmake/setup_debian.sh            then: cmake --workflow --preset test
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
packages=(cmake g++ git libeigen3-dev libfmt-dev doctest-dev libbenchmark-dev libopenmpi-dev openmpi-bin
  python3-dev python3-pybind11 python3-numpy python3-pytest python3-torch python3-tqdm clang-format)
# Debian's nodejs and npm only where no node is installed (a newer one from elsewhere conflicts with them).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
apt-get update -qq
apt-get install -y -qq "${packages[@]}" >/dev/null

# @huggingface/gguf where tests/CMakeLists.txt looks for it (build/npm).
if [ ! -d build/npm/node_modules/@huggingface/gguf ]; then
  npm install --no-audit --no-fund --prefix "$PWD/build/npm" @huggingface/gguf >/dev/null
fi

# llama.cpp for act-llama and tests/llama (several minutes on 2 cores the first time, nothing after).
bash cmake/prepare_llama.sh build/llama

cmake --workflow --preset demo
