# Shared install steps for bin/serve and bin/test. Each step is skipped when nothing it
# depends on changed, so a second run starts in seconds.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
SAM2_VERSION="1.1.0"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

stamp_of() {
  # A fingerprint of what an install step depends on: the given files and this script.
  cat "$@" "$ROOT/bin/lib/install.sh" | sha256sum | cut -c1-16
}

ensure_python_env() {
  local extras="$1" stamp_file="$VENV/.installed-$1" stamp
  stamp="$(stamp_of "$ROOT/pyproject.toml")"
  # The dev install includes everything the app needs, so it satisfies "app" too.
  for done_file in "$stamp_file" "$VENV/.installed-dev"; do
    if [ -f "$done_file" ] && [ "$(cat "$done_file")" = "$stamp" ]; then
      return
    fi
  done
  if [ ! -x "$PY" ]; then
    say "Creating the virtualenv in .venv"
    python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
  fi
  local pip=("$PY" -m pip --disable-pip-version-check -q)
  # torch first and pinned: an unpinned torch pulls several GB of CUDA packages.
  say "Installing PyTorch (CPU build)"
  "${pip[@]}" install "torch==2.13.0"
  say "Installing the app's dependencies ($extras)"
  if [ "$extras" = "app" ]; then
    "${pip[@]}" install -e "$ROOT"
  else
    "${pip[@]}" install -e "$ROOT[$extras]"
  fi
  # sam2 from PyPI resolves torchvision and a CUDA torch and builds against a downloaded
  # torch; without its deps and isolation it installs in seconds on the torch above.
  say "Installing Meta's sam2 $SAM2_VERSION"
  SAM2_BUILD_CUDA=0 "${pip[@]}" install --no-deps --no-build-isolation "sam2==$SAM2_VERSION"
  echo "$stamp" > "$stamp_file"
}

READERS_VENV="$ROOT/.venv-readers"
# Third-party readers the interoperability tests run in a subprocess: datumaro pins older
# OpenCV and Pillow than the app, so it gets a virtualenv of its own.
READERS=("datumaro==1.13.12")

ensure_reader_env() {
  local stamp_file="$READERS_VENV/.installed" stamp
  stamp="$(printf '%s\n' "${READERS[@]}" | sha256sum | cut -c1-16)"
  if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
    return
  fi
  say "Installing the readers of the interoperability tests into .venv-readers"
  [ -x "$READERS_VENV/bin/python" ] \
    || python3.11 -m venv "$READERS_VENV" 2>/dev/null || python3 -m venv "$READERS_VENV"
  "$READERS_VENV/bin/python" -m pip --disable-pip-version-check -q install "${READERS[@]}"
  echo "$stamp" > "$stamp_file"
}

apt_install() {
  # Installs the Debian packages among "$@" that are missing.
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "Installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

AZURITE_VERSION="3.35.0"  # the newest release that still runs on Node 20
AZURITE_DIR="$ROOT/.tools/azurite"
AZURITE_BLOB="$AZURITE_DIR/node_modules/.bin/azurite-blob"

ensure_azurite() {
  # The Azure Blob Storage emulator for the tests, from npm into a project-local folder.
  if [ -x "$AZURITE_BLOB" ] && [ "$(cat "$AZURITE_DIR/.version" 2>/dev/null)" = "$AZURITE_VERSION" ]; then
    return
  fi
  command -v npm >/dev/null || apt_install nodejs npm
  say "Installing Azurite $AZURITE_VERSION (npm)"
  mkdir -p "$AZURITE_DIR"
  npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error \
    "azurite@$AZURITE_VERSION" >/dev/null
  echo "$AZURITE_VERSION" > "$AZURITE_DIR/.version"
}

ORT_WEB_VERSION="1.30.0"
ORT_WEB_DIR="$ROOT/.tools/onnxruntime-web"
ORT_WEB_STATIC="$ROOT/static/vendor/onnxruntime-web"
# The CPU (WASM, SIMD, threads) build only: the default bundle pulls a 28 MB WebGPU wasm.
ORT_WEB_FILES=(ort.wasm.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm)

ensure_onnxruntime_web() {
  # onnxruntime-web for the editor's in-browser decoder, from npm into a project-local
  # folder; its CPU build is copied under static/vendor (gitignored: the wasm is 14 MB).
  local file missing=0
  for file in "${ORT_WEB_FILES[@]}"; do
    [ -f "$ORT_WEB_STATIC/$file" ] || missing=1
  done
  if [ "$missing" = 0 ] && [ "$(cat "$ORT_WEB_STATIC/.version" 2>/dev/null)" = "$ORT_WEB_VERSION" ]; then
    return
  fi
  command -v npm >/dev/null || apt_install nodejs npm
  if [ "$(cat "$ORT_WEB_DIR/.version" 2>/dev/null)" != "$ORT_WEB_VERSION" ]; then
    say "Installing onnxruntime-web $ORT_WEB_VERSION (npm)"
    mkdir -p "$ORT_WEB_DIR"
    npm install --prefix "$ORT_WEB_DIR" --no-audit --no-fund --loglevel=error \
      "onnxruntime-web@$ORT_WEB_VERSION" >/dev/null
    echo "$ORT_WEB_VERSION" > "$ORT_WEB_DIR/.version"
  fi
  mkdir -p "$ORT_WEB_STATIC"
  for file in "${ORT_WEB_FILES[@]}"; do
    cp "$ORT_WEB_DIR/node_modules/onnxruntime-web/dist/$file" "$ORT_WEB_STATIC/$file"
  done
  echo "$ORT_WEB_VERSION" > "$ORT_WEB_STATIC/.version"
}
