# Sourced by the scripts here: creates a virtual environment once, with a pip new enough
# for dependency groups, puts it first on PATH, and defines install_into_venv and
# find_python. Each script installs what it needs: scripts/demo the package alone,
# scripts/run-tests the extras and the dev group.
#
# VENV names the environment's folder (default .venv) and VENV_PYTHON the interpreter it
# is made with (default python3); scripts/run-tests makes one per Python version.
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    "${VENV_PYTHON:-python3}" -m venv "$VENV"
fi
# Dependency groups (PEP 735) need pip >= 25.1.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "pip>=25.1" 2>&1 \
    | grep -v "^WARNING: Location" || true
export PATH="$PWD/$VENV/bin:$PATH"
export VIRTUAL_ENV="$PWD/$VENV"

# install_into_venv CHECK PIP_ARGUMENTS...: pip install PIP_ARGUMENTS into $VENV, then
# check that the Python statement CHECK runs there (e.g. "import dual_log, django").
install_into_venv() {
    local check="$1"
    shift
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
        | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -c "$check" || {
        echo "scripts: installing into $VENV failed: pip install $*" >&2
        exit 1
    }
}
