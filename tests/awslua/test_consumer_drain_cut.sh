#!/usr/bin/env bash
# SIGTERM while an SQS consumer's handler runs past TYCHO_DRAIN_TIMEOUT
# (docs/routes.md, consumers, Shutdown): the handler is cancelled and the
# message comes back later, and the cut is not silent: one warning line
# names the message (its trace in the line's context), and the message's
# CONSUMER span ends in ERROR with error.type drain_timeout, as a cut
# request's span does.
. "$(dirname "$0")/lib.sh"
aws_clean_env
export TYCHO_AWS_BACKEND=local TYCHO_DATA_DIR="$TEST_TMP/data"
export TYCHO_LOCAL_QUEUES="tycho-test-jobs" TYCHO_LOCAL_TABLES="tycho-test-seen:pk=key/S"
Q='{queue="tycho-test-jobs"}'

TYCHO_DRAIN_TIMEOUT=1 TYCHO_TRACES_STDOUT=1 serve_start cut --workers 1 || exit 1
post /send '{"body":{"key":"cut-1","sleep":30}}' >/dev/null
metric_is_1() { [ "$(metric "tycho_sqs_consumer_received_total$Q")" = 1 ]; }
check "the handler runs" wait_until 10 metric_is_1
serve_stop TERM
check "tycho exits 0" [ "$SERVE_RC" = 0 ]
check "one line says the handler was cut, and the span ended in ERROR (drain_timeout)" \
    /usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cut = [r for r in recs if r.get("msg", "").startswith("sqs consumer: handler cut by the shutdown")]
assert len(cut) == 1, cut
c = cut[0]
assert c["level"] == "warn" and c["queue"] == "tycho-test-jobs" and c["reason"] == "drain_timeout", c
assert c["message_id"] and c["trace_id"], c
spans = [r for r in recs if r.get("kind") == "CONSUMER" and r.get("trace_id") == c["trace_id"]]
assert len(spans) == 1, "no CONSUMER span of the cut message: %r" % [r for r in recs if "kind" in r]
s = spans[0]
assert s["status"]["code"] == "ERROR", s
assert s["attributes"]["error.type"] == "drain_timeout", s
assert s["attributes"]["messaging.message.id"] == c["message_id"], s' "$LOG"
finish
