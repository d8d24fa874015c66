#!/bin/sh
# Installs obsgen $OBSGEN_VERSION as $OBSGEN_BIN_DIR/obsgen (default ~/.cargo/bin): the
# release archive for this machine, obsgen-v<version>-<target>.tar.gz, from
# $OBSGEN_RELEASES/v<version>/, checked against that release's SHA256SUMS before use.
# A checksum that does not match, or a binary that is not that version, is refused
# (exit 1, nothing installed). When the release has no archive for this machine or
# cannot be downloaded, obsgen is built with `cargo install --locked`.
# The one install script: rendered into the generated obsgen.yml and run by action.yml.
set -eu
version="${OBSGEN_VERSION:?set OBSGEN_VERSION}"
releases="${OBSGEN_RELEASES:?set OBSGEN_RELEASES}"
bin_dir="${OBSGEN_BIN_DIR:-$HOME/.cargo/bin}"
case "$version" in
  '' | *[!0-9A-Za-z.+-]*) echo "::error::not an obsgen version: $version" >&2; exit 2 ;;
esac
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) target=x86_64-unknown-linux-musl ;;
  Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-musl ;;
  Darwin-x86_64) target=x86_64-apple-darwin ;;
  Darwin-arm64) target=aarch64-apple-darwin ;;
  *) target=none ;;
esac
asset="obsgen-v$version-$target.tar.gz"
url="$releases/v$version"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$bin_dir"
place() {
  cp "$1" "$bin_dir/.obsgen.new"
  chmod 755 "$bin_dir/.obsgen.new"
  mv -f "$bin_dir/.obsgen.new" "$bin_dir/obsgen"
}
build() {
  echo "obsgen $version: $1; building it with cargo install" >&2
  cargo install obsgen --locked --version "$version" --root "$tmp/cargo"
  place "$tmp/cargo/bin/obsgen"
  echo "installed obsgen $version (built) in $bin_dir"
  exit 0
}
fetch() {
  curl -fsSL --proto '=https,file' --retry 3 --max-time 120 -o "$2" "$1"
}
[ "$target" != none ] || build "no release binary for $(uname -s) $(uname -m)"
fetch "$url/SHA256SUMS" "$tmp/SHA256SUMS" || build "no SHA256SUMS at $url"
grep -E "^[0-9a-f]{64} [ *]$asset\$" "$tmp/SHA256SUMS" > "$tmp/want" || build "SHA256SUMS lists no $asset"
[ "$(wc -l < "$tmp/want")" -eq 1 ] || { echo "::error::SHA256SUMS lists $asset more than once" >&2; exit 1; }
fetch "$url/$asset" "$tmp/$asset" || build "$asset could not be downloaded"
if command -v sha256sum > /dev/null; then sum='sha256sum'; else sum='shasum -a 256'; fi
if ! (cd "$tmp" && $sum -c want); then
  echo "::error::$asset does not match its checksum in $url/SHA256SUMS: refused" >&2
  exit 1
fi
tar -xzf "$tmp/$asset" -C "$tmp" obsgen
if [ "$("$tmp/obsgen" --version)" != "obsgen $version" ]; then
  echo "::error::$asset holds no obsgen $version: refused" >&2
  exit 1
fi
place "$tmp/obsgen"
echo "installed obsgen $version (release binary, checksum verified) in $bin_dir"
