# Sourced by the scripts here: creates .venv once, with a pip new enough for dependency
# groups, puts it first on PATH, and defines install_into_venv. Each script installs what
# it needs: scripts/demo the package alone, scripts/run-tests the extras and the dev group.
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Dependency groups (PEP 735) need pip >= 25.1.
.venv/bin/python -m pip install --quiet --disable-pip-version-check "pip>=25.1" 2>&1 \
    | grep -v "^WARNING: Location" || true
export PATH="$PWD/.venv/bin:$PATH"
export VIRTUAL_ENV="$PWD/.venv"

# install_into_venv CHECK PIP_ARGUMENTS...: pip install PIP_ARGUMENTS into .venv, then
# check that the Python statement CHECK runs there (e.g. "import dual_log, django").
install_into_venv() {
    local check="$1"
    shift
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
        | grep -v "^WARNING: Location" || true
    .venv/bin/python -c "$check" || {
        echo "scripts: installing into .venv failed: pip install $*" >&2
        exit 1
    }
}
