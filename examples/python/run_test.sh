#!/bin/sh
# Run test_binding.py with the first interpreter that imports numpy
# ($IRLLREC_PYTHON, Debian's /usr/bin/python3, python3 on PATH, which may be
# a pyenv build without numpy). None: exit 77, which ctest reports as skipped.
# Arguments (test names) are passed on to test_binding.py.
here=$(dirname "$0")
for py in ${IRLLREC_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import numpy' >/dev/null 2>&1; then
    exec "$py" "$here/test_binding.py" "$@"
  fi
done
echo "python_binding: no python3 that imports numpy (apt install python3-numpy): skipped"
exit 77
