#!/usr/bin/env bash
# Makes tests/mail/.venv with aiosmtpd (the real SMTP server the chat tests send mail to) and
# prints its python. Safe to run from many test processes at once: they take turns on a lock.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec 9>"${TMPDIR:-/tmp}/parley-mail-venv.lock"
flock 9
if [[ ! -x "$here/.venv/bin/python" ]] || ! "$here/.venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  "${PYTHON:-python3}" -m venv "$here/.venv" >&2
  "$here/.venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt" >&2
fi
echo "$here/.venv/bin/python"
