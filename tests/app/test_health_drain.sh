#!/usr/bin/env bash
# The reference app's /health answers 503 {"status":"draining"} once a
# SIGTERM has started the drain (see health_drain.py).
. "$(dirname "$0")/lib.sh"
app_python "$(dirname "$0")/health_drain.py"
