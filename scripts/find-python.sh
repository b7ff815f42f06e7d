#!/bin/sh
# Prints the path of a Python 3 that imports lark and jinja2.  `python3` on
# PATH may be a pyenv or venv interpreter without Debian's packages, so
# Debian's own /usr/bin/python3 is tried first.
for py in /usr/bin/python3 python3 /usr/local/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 &&
       "$py" -c 'import lark, jinja2' >/dev/null 2>&1; then
        command -v "$py"
        exit 0
    fi
done
echo "no python3 with lark and jinja2 found (apt-get install python3-lark python3-jinja2)" >&2
exit 1
