#!/bin/sh
# What a profiled link of a Rust program costs: compiles
# bench/workloads/hello.rs in DIR, keeping rustc's objects, and writes
# DIR/link.sh, the link that rustc runs (cc, collect2, then rustup's
# rust-lld), for bench/alternate and bench/instructions to run alone:
#
#   sh bench/rust_link.sh DIR
#   bench/instructions --warm 2 JEMALLOC LIB -- sh DIR/link.sh
#
# rust-lld and its libLLVM have no build-id, and rust-lld leaves with
# _exit (README, "Function tables").  Needs rustc; a measurement, not a
# test.
set -eu
[ $# -eq 1 ] || { echo "usage: sh bench/rust_link.sh DIR" >&2; exit 2; }
command -v rustc >/dev/null || { echo "bench/rust_link.sh: no rustc" >&2; exit 1; }
src=$(cd "$(dirname "$0")" && pwd)/workloads/hello.rs
mkdir -p "$1"
dir=$(cd "$1" && pwd)
cd "$dir"
rustc -O -C save-temps --print link-args "$src" -o hello >link-args
# The printed command is a shell line: variables, then cc and its
# arguments, each quoted.
{ printf 'cd %s && ' "'$dir'"; cat link-args; } >link.sh
sh link.sh
echo "bench/rust_link.sh: $dir/link.sh links $dir/hello"
