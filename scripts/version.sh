#!/usr/bin/env bash
# The release's version, set in one place: `version` of [workspace.package] in Cargo.toml.
#
#   scripts/version.sh            prints it
#   scripts/version.sh --write    writes it into the files that cannot read Cargo.toml
#                                 (bindings/python/src/altogic/_version.py)
#   scripts/version.sh --check    fails when a file disagrees with it: the Python package's
#                                 _version.py, the C header's ALTOGIC_VERSION macros (which
#                                 build.rs writes from it), and every crate of the workspace
#                                 that takes the workspace's version
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(awk '
    /^\[/ { in_table = ($0 == "[workspace.package]") }
    in_table && /^version = "/ { gsub(/^version = "|"$/, ""); print; exit }
' Cargo.toml)
[ -n "$version" ] || { echo "no version in [workspace.package] of Cargo.toml" >&2; exit 1; }
python_file=bindings/python/src/altogic/_version.py
python_text="\"\"\"The package's version: the same as the library's (\`\`altogic_version()\`\`).

Written by scripts/version.sh from Cargo.toml ([workspace.package] version); do not edit.
\"\"\"

__version__ = \"$version\"
"

case "${1:-}" in
    "")
        echo "$version"
        ;;
    --write)
        printf '%s' "$python_text" >"$python_file"
        echo "$python_file: $version"
        ;;
    --check)
        status=0
        if [ "$(cat "$python_file")"$'\n' != "$python_text" ]; then
            echo "$python_file does not say $version: run scripts/version.sh --write" >&2
            status=1
        fi
        IFS=. read -r major minor patch <<<"${version%%[-+]*}"
        for macro in "ALTOGIC_VERSION \"$version\"" "ALTOGIC_VERSION_MAJOR $major" \
            "ALTOGIC_VERSION_MINOR $minor" "ALTOGIC_VERSION_PATCH $patch"; do
            grep -qx "#define $macro" include/altogic.h ||
                { echo "include/altogic.h lacks #define $macro: cargo build regenerates it" >&2; status=1; }
        done
        for manifest in Cargo.toml cli/Cargo.toml; do
            grep -qx 'version.workspace = true' "$manifest" ||
                { echo "$manifest does not take the workspace's version" >&2; status=1; }
        done
        [ "$status" = 0 ] && echo "version $version everywhere"
        exit $status
        ;;
    *)
        echo "usage: scripts/version.sh [--write|--check]" >&2
        exit 2
        ;;
esac
