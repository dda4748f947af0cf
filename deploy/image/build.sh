#!/usr/bin/env bash
# Builds what the stagecoach image holds into ROOT, laid out as the image's file system:
#   ROOT/usr/local/bin/bot          the bot, static (CGO_ENABLED=0), from the checkout this script is in
#   ROOT/opt/stagecoach/toolchain/  the pinned Pulumi CLI and language hosts, in the toolchain's cache
#                                   layout (the image sets XDG_CACHE_HOME=/opt so the bot finds it there)
# The Dockerfile's build stage runs it; deploy/image_test.go runs it too, so what the image gets is tested
# without a Docker engine. Versions come from contents.env beside this script.
#
# The toolchain comes from the bot's own `bot toolchain install`: the CLI's release is downloaded where
# get.pulumi.com is reachable (it bundles the Go, Node.js, Python and YAML language hosts); otherwise the
# CLI and the YAML language host are built from the Go module proxy, and the image then holds the YAML
# host only (the Go, Node.js and Python hosts are not on the module proxy).
#
# Usage: deploy/image/build.sh ROOT
# Environment:
#   STAGECOACH_TOOLCHAIN_SOURCE  a toolchain cache (such as ~/.cache/stagecoach/toolchain) to copy the
#                                pinned CLI and YAML host from instead of downloading or building them
set -euo pipefail
export PULUMI_SKIP_UPDATE_CHECK=true

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 ROOT" >&2
  exit 2
fi
mkdir -p "$1"
root=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=deploy/image/contents.env
. "$src/deploy/image/contents.env"

toolchain="$root/opt/stagecoach/toolchain"
cli_dir="$toolchain/pulumi-v$PULUMI_VERSION"
yaml_dir="$toolchain/pulumi-yaml-v$PULUMI_YAML_VERSION"

echo "== bot -> $root/usr/local/bin/bot"
mkdir -p "$root/usr/local/bin"
(cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$root/usr/local/bin/bot" ./cmd/bot)

echo "== Pulumi CLI v$PULUMI_VERSION -> $toolchain"
mkdir -p "$toolchain"
if [ -n "${STAGECOACH_TOOLCHAIN_SOURCE:-}" ]; then
  for d in "pulumi-v$PULUMI_VERSION" "pulumi-yaml-v$PULUMI_YAML_VERSION"; do
    if [ -d "$STAGECOACH_TOOLCHAIN_SOURCE/$d" ]; then
      echo "copying $STAGECOACH_TOOLCHAIN_SOURCE/$d"
      rm -rf "${toolchain:?}/$d"
      cp -a "$STAGECOACH_TOOLCHAIN_SOURCE/$d" "$toolchain/"
    fi
  done
fi
# Go's build cache follows XDG_CACHE_HOME, which is pointed into ROOT below: pin it where it is now.
GOCACHE=$(go env GOCACHE)
export GOCACHE
# `toolchain install` takes a pulumi found on PATH (or named by STAGECOACH_PULUMI_COMMAND) instead of
# installing the pinned one: keep both out of its way. It needs go on PATH to build.
path=
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  if [ -n "$d" ] && [ ! -x "$d/pulumi" ]; then
    path="${path:+$path:}$d"
  fi
done
env -u STAGECOACH_PULUMI_COMMAND PATH="$path" XDG_CACHE_HOME="$root/opt" \
  "$root/usr/local/bin/bot" toolchain install

# What the image promises: the pinned CLI, a YAML host next to it (bundled, or our link to the build).
got=$("$cli_dir/pulumi" version)
if [ "$got" != "v$PULUMI_VERSION" ]; then
  echo "build.sh: $cli_dir/pulumi reports $got, want v$PULUMI_VERSION (contents.env and toolchain.PulumiVersion disagree?)" >&2
  exit 1
fi
if [ ! -x "$cli_dir/pulumi-language-yaml" ]; then
  echo "build.sh: no YAML language host next to the CLI in $cli_dir" >&2
  exit 1
fi
# Lock files are the installer's; at run time the toolchain is read-only: owned by whoever built it
# (root in the image), readable and runnable by all, writable by nobody else, so a pull request's
# program cannot replace the CLI.
rm -f "$toolchain"/*.lock
chmod -R u+rwX,go+rX,go-w "$toolchain"

echo "== language hosts in $cli_dir"
hosts=
for h in "$cli_dir"/pulumi-language-*; do
  hosts="${hosts:+$hosts }${h##*/pulumi-language-}"
done
echo "$hosts"
case " $hosts " in
*" go "*) ;;
*) echo "note: YAML only: the release could not be downloaded, so Go, Node.js and Python projects cannot be deployed with this image (deploy/README.md)" ;;
esac
if [ -d "$yaml_dir" ]; then
  echo "YAML host v$PULUMI_YAML_VERSION built in $yaml_dir"
fi
