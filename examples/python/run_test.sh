#!/bin/sh
# Run a test of the binding with the first interpreter that imports numpy
# ($IRLLREC_PYTHON, Debian's /usr/bin/python3, python3 on PATH, which may be
# a pyenv build without numpy). None: exit 77, which ctest reports as skipped.
# Usage: run_test.sh [SCRIPT.py] [TEST_NAME...]; SCRIPT defaults to
# test_binding.py (next to this file); test names are passed on to it.
here=$(dirname "$0")
script=test_binding.py
case "${1:-}" in *.py) script=$1; shift ;; esac
for py in ${IRLLREC_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import numpy' >/dev/null 2>&1; then
    exec "$py" "$here/$script" "$@"
  fi
done
echo "python_binding: no python3 that imports numpy (apt install python3-numpy): skipped"
exit 77
