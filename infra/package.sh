#!/usr/bin/env bash
# Builds the transformer Lambda with cargo-lambda and zips it the way the template expects it: one
# `bootstrap` executable at the root of the zip.
#
#   infra/package.sh                     arm64, the `lambda-package` profile (thin LTO): what deploy.sh ships
#   infra/package.sh --arch x86_64       an x86_64 build (what the tests check the layout of)
#   infra/package.sh --debug             a debug build (faster to compile)
#   infra/package.sh --out FILE          where the zip goes (default infra/build/transformer.zip)
#
# Needs cargo-lambda and zig (`pip install cargo-lambda ziglang`); an arm64 build also needs the
# rustup target aarch64-unknown-linux-gnu, which cargo-lambda adds on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=arm64
profile=(--profile lambda-package)
out=infra/build/transformer.zip
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arch=${2:?--arch needs arm64 or x86_64}; shift 2 ;;
    --debug) profile=(); shift ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $arch in
  arm64) target=(--arm64); cpu=neoverse-n1 ;;
  x86_64) target=(--x86-64); cpu=haswell ;;
  *) echo "package.sh: --arch is arm64 or x86_64, not $arch" >&2; exit 2 ;;
esac
if ! command -v cargo-lambda >/dev/null 2>&1; then
  echo "package.sh: cargo-lambda is not on PATH: pip install cargo-lambda ziglang (in a venv, then put its bin/ on PATH)" >&2
  exit 1
fi

lambda_dir=${CARGO_TARGET_DIR:-target}/lambda
# cargo-lambda adds its target-cpu flag only with --release; the `lambda-package` profile (see Cargo.toml)
# is the release profile plus LTO, so the flag is set here for the optimised build.
if [ ${#profile[@]} -gt 0 ]; then
  export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-cpu=$cpu"
fi
cargo lambda build "${profile[@]}" "${target[@]}" --locked --package wafwatch-transformer --bin transformer \
  --output-format zip --lambda-dir "$lambda_dir"
mkdir -p "$(dirname "$out")"
cp "$lambda_dir/transformer/bootstrap.zip" "$out"
echo "$out"
