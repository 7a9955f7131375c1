# Helpers shared by scripts/matrix and scripts/build-module: where the nginx
# sources are, what a build is keyed by, how nginx is configured with the
# module. Sourced with $root set to the repository.

nginx_sources_dir() {
    echo "${NGINX_SOURCES_DIR:-$root/../shared/nginx}"
}

# "1.24.0", "master-3f6f7824d" from .../nginx-1.24.0.tar.gz
archive_version() {
    local name
    name=$(basename "$1" .tar.gz)
    echo "${name#nginx-}"
}

# The module's own sources, hashed: a change to any of them is a new build.
module_sources_hash() {
    (cd "$root" && find config config.make src -type f | LC_ALL=C sort | xargs sha256sum) \
        | sha256sum | cut -c1-64
}

# Version numbers compare as 1.25 ≤ x; a snapshot of master is newer than all.
has_http_v3() {
    case $1 in
    master*) return 0 ;;
    esac
    local major minor
    IFS=. read -r major minor _ <<<"$1"
    [ "$major" -gt 1 ] || [ "$minor" -ge 25 ]
}

# Unpacks an nginx tarball (a release or a repository snapshot) into $2.
unpack_nginx() {
    local archive=$1 dir=$2
    rm -rf "$dir"
    mkdir -p "$dir"
    tar xzf "$archive" -C "$dir" --strip-components=1
}

# The configure script of a source tree: ./configure in a release,
# auto/configure in a repository snapshot.
nginx_configure_script() {
    if [ -x "$1/configure" ]; then echo ./configure; else echo auto/configure; fi
}

# Unpacks the nginx-tests archive into build/ (once per archive) and prints
# its directory; nothing when there is none.
nginx_tests_dir() {
    local archive dir
    archive=$(ls "$(nginx_sources_dir)"/nginx-tests-*.tar.gz 2>/dev/null | tail -1)
    [ -n "$archive" ] || return 0
    dir=$root/build/$(basename "$archive" .tar.gz)
    if [ ! -f "$dir/lib/Test/Nginx.pm" ]; then
        unpack_nginx "$archive" "$dir"
    fi
    echo "$dir"
}
