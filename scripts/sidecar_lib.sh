# Shared by scripts/ci_sidecar.sh and scripts/fuzz_sidecar.sh (sourced, not run).
# sidecar_python WORK: prints a Python with numpy, pyzmq, pytest and rest_shaper_client (the
# repository's .venv when scripts/setup.sh made it, else a fresh venv under WORK).
sidecar_python() {
  local work=$1 root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local py="$work/venv/bin/python"
  if [ -x "$root/.venv/bin/python" ] && "$root/.venv/bin/python" -c "import numpy, zmq, pytest" 2>/dev/null; then
    py="$root/.venv/bin/python"
  else
    { python3 -m venv "$work/venv" && "$py" -m pip install -q numpy pyzmq pytest; } >&2 || { echo "cannot create the venv" >&2; return 1; }
  fi
  if ! "$py" -c "import rest_shaper_client" 2>/dev/null; then
    cp -r "$root/examples/python" "$work/client-src"   # a copy: pip's build/ output stays out of the tree
    "$py" -m pip install -q "$work/client-src" >&2 || { echo "cannot install rest_shaper_client" >&2; return 1; }
  fi
  echo "$py"
}

# sidecar_wait PY ENDPOINT PID [CURVE_ARGS...]: waits until the server answers ping (60 s);
# fails early when the process has exited.
sidecar_wait() {
  local py=$1 ep=$2 pid=$3
  for _ in $(seq 1 120); do
    if "$py" -c "import sys; from rest_shaper_client import Client; Client(sys.argv[1], timeout=1).ping()" "$ep" 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}
