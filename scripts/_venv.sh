# Sourced by the scripts here: creates .venv once, installs dual_log (editable) with its
# extras and the dev dependency group, and puts the venv first on PATH.
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Dependency groups (PEP 735) need pip >= 25.1.
.venv/bin/python -m pip install --quiet --disable-pip-version-check "pip>=25.1" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[django,flask,nats]" --group dev 2>&1 \
    | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import dual_log, django, flask, gunicorn, nats, pytest" || {
    echo "scripts: installing dual_log into .venv failed" >&2
    exit 1
}
export PATH="$PWD/.venv/bin:$PATH"
export VIRTUAL_ENV="$PWD/.venv"
