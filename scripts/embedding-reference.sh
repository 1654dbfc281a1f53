#!/usr/bin/env bash
# Regenerates Tests/TernLocalTests/Fixtures/minilm-reference.json with the reference implementation
# (sentence-transformers on PyTorch CPU), in a throwaway virtualenv OUTSIDE the repository (several GB:
# PyPI's torch wheel imports only with its nvidia-* wheels). Also used by bench/embeddings/run.sh.
# Usage: scripts/embedding-reference.sh [OUT.json]     (TERN_REFERENCE_VENV overrides the venv path)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/reference-venv.sh
reference_venv_ensure
nice -n 19 "$REFERENCE_VENV/bin/python" scripts/embedding-reference.py "$@"
