"""hookbin.responder: which answer each request gets, sequences, chances, rules and changes."""

from __future__ import annotations

import json
import threading

import pytest

from hookbin.responder import Decision, Responder
from hookbin.spec import RuleError, SpecError, parse_spec

# --------------------------------------------------------------------------- rules


def test_first_matching_rule_wins():
    responder = Responder(
        "204",
        [
            "GET /health => 200",
            "POST /segmanta/special => 418",
            "POST /segmanta/* => 500",
            "/segmanta/** => 503",
        ],
    )
    assert responder.decide("POST", "/segmanta/special", "k").status == 418
    decision = responder.decide("POST", "/segmanta/x", "k")
    assert (decision.status, decision.rule, decision.spec) == (500, "POST /segmanta/* => 500", "500")
    assert responder.decide("PUT", "/segmanta/x", "k").status == 503
    assert responder.decide("GET", "/health", "k").status == 200
    assert responder.decide("POST", "/health", "k").status == 204
    default = responder.decide("POST", "/elsewhere", "k")
    assert (default.status, default.rule, default.spec) == (204, None, "204")


def test_each_rule_keeps_its_own_counters():
    responder = Responder("500,200", ["/a => 503,201"])
    assert responder.decide("POST", "/a", "d1").status == 503
    assert responder.decide("POST", "/b", "d1").status == 500
    assert responder.decide("POST", "/a", "d1").status == 201
    assert responder.decide("POST", "/b", "d1").status == 200


# --------------------------------------------------------------------------- sequences


def test_per_delivery_sequence_with_interleaved_deliveries():
    responder = Responder("500,500,200")
    answers = [(key, responder.decide("POST", "/hook", key)) for key in ["A", "B", "A", "B", "A", "A"]]
    assert [(key, d.status) for key, d in answers] == [
        ("A", 500),
        ("B", 500),
        ("A", 500),
        ("B", 500),
        ("A", 200),
        ("A", 200),
    ]
    assert [d.step for _, d in answers] == [1, 1, 2, 2, 3, 3]
    assert responder.decide("POST", "/hook", "B").status == 200


def test_no_delivery_key_counts_as_a_new_delivery():
    responder = Responder("500,200")
    assert [responder.decide("POST", "/", None).status for _ in range(3)] == [500, 500, 500]


def test_global_sequence():
    responder = Responder("global: 200,200,503")
    statuses = [responder.decide("POST", "/", key).status for key in "ABCDE"]
    assert statuses == [200, 200, 503, 503, 503]
    assert responder.decide("POST", "/", "A").step == 3


def test_decision_carries_step_fields():
    responder = Responder("429 retry-after=30 delay=2s,close delay=1s,reset,drip=5s,200")
    first = responder.decide("POST", "/", "k")
    assert first == Decision(
        status=429,
        headers=(("Retry-After", "30"),),
        delay=2.0,
        spec="429 delay=2s retry-after=30,close delay=1s,reset,200 drip=5s,200",
        step=1,
    )
    second = responder.decide("POST", "/", "k")
    assert (second.fault, second.delay, second.step) == ("close", 1.0, 2)
    assert responder.decide("POST", "/", "k").fault == "reset"
    drip = responder.decide("POST", "/", "k")
    assert (drip.fault, drip.drip, drip.status) == ("drip", 5.0, 200)
    assert responder.decide("POST", "/", "k").fault is None


def test_chance_is_repeatable_with_a_seed():
    def rolls(seed):
        responder = Responder("30% 503 else 202", seed=seed)
        return [responder.decide("POST", "/", str(i)).status for i in range(200)]

    assert rolls(7) == rolls(7)
    assert rolls(7) != rolls(8)
    assert set(rolls(7)) == {503, 202}


def test_chance_roughly_hits_the_rate():
    responder = Responder("30% 503", seed=1234)
    decisions = [responder.decide("POST", "/", "same") for _ in range(10_000)]
    hits = sum(d.status == 503 for d in decisions)
    assert 0.27 <= hits / 10_000 <= 0.33
    assert {d.step for d in decisions if d.status == 503} == {1}
    assert {d.step for d in decisions if d.status == 200} == {2}


def test_chance_extremes():
    always = Responder("100% 500", seed=1)
    never = Responder("0% 500", seed=1)
    assert {always.decide("GET", "/", None).status for _ in range(200)} == {500}
    assert {never.decide("GET", "/", None).status for _ in range(200)} == {200}


# --------------------------------------------------------------------------- changes


def test_set_spec_resets_counters():
    responder = Responder("500,200")
    assert responder.decide("POST", "/", "A").status == 500
    assert responder.decide("POST", "/", "A").status == 200
    responder.set_spec("503,201")
    assert responder.spec == parse_spec("503,201")
    assert responder.decide("POST", "/", "A").status == 503
    responder.set_spec(parse_spec("503,201"))
    assert responder.decide("POST", "/", "A").status == 503


def test_set_rules_resets_counters():
    responder = Responder("global: 500,200", ["/x => 500,200"])
    responder.decide("POST", "/", "A")
    responder.decide("POST", "/x", "A")
    responder.set_rules(["/x => 500,200", "/y => 404"])
    assert responder.decide("POST", "/", "B").status == 500
    assert responder.decide("POST", "/x", "A").status == 500
    assert [r.text for r in responder.rules] == ["/x => 500,200", "/y => 404"]


def test_every_change_of_answer_starts_a_new_run_even_the_same_answer():
    responder = Responder("500,200")
    assert responder.decide("POST", "/", "A").run == 1
    assert responder.decide("POST", "/", "A").status == 200
    responder.set_spec("500,200")  # the same answer again: a new run all the same
    first = responder.decide("POST", "/", "A")
    assert (first.status, first.step, first.run) == (500, 1, 2)
    responder.set_headers(["X-A: 1"])
    assert responder.decide("POST", "/", "A").run == 3


def test_new_run_keeps_the_answer_and_starts_every_sequence_again():
    responder = Responder("global: 503,200", ["/x => 500,200"])
    responder.decide("POST", "/", "A")
    responder.decide("POST", "/x", "A")
    calls = []
    responder.subscribe(lambda: calls.append(responder.run))
    assert responder.new_run() == 2
    assert responder.new_run(7) == 7  # a server numbers its first run after the store's last
    assert calls == [2, 7]
    assert [responder.decide("POST", path, "A").status for path in ("/", "/x")] == [503, 500]
    assert responder.snapshot()["spec"] == "global: 503,200" and responder.run == 7


def test_one_update_is_one_run_and_a_bad_part_changes_nothing():
    responder = Responder("200")
    calls = []
    responder.subscribe(lambda: calls.append(responder.run))
    assert responder.update(spec="503", rules=["/x => 200"], body="no", headers=["X-A: 1"]) == 2
    assert calls == [2]
    with pytest.raises(SpecError):
        responder.update(spec="410", headers=["nope"])
    assert (responder.spec.text, responder.run, calls) == ("503", 2, [2])
    responder.update(content_type="text/plain")
    assert (responder.body, responder.content_type, responder.headers) == (b"no", "text/plain", (("X-A", "1"),))


def test_failed_set_spec_changes_nothing():
    responder = Responder("500,200")
    responder.decide("POST", "/", "A")
    calls = []
    responder.subscribe(lambda: calls.append(1))
    with pytest.raises(SpecError, match="'5x3'"):
        responder.set_spec("5x3")
    assert responder.spec.text == "500,200"
    assert responder.decide("POST", "/", "A").status == 200  # counter kept too
    with pytest.raises(RuleError):
        responder.set_rules(["/ok => 200", "/bad 500"])
    assert responder.rules == ()
    assert calls == []


def test_lru_bound_on_delivery_counters():
    responder = Responder("500,200", max_keys=2)
    assert responder.decide("POST", "/", "A").status == 500
    assert responder.decide("POST", "/", "B").status == 500
    assert responder.decide("POST", "/", "A").status == 200  # A is now the most recent
    assert responder.decide("POST", "/", "C").status == 500  # drops B, the least recent
    assert responder.tracked_keys == 2
    assert responder.decide("POST", "/", "A").status == 200
    assert responder.decide("POST", "/", "B").status == 500  # B starts again


def test_lru_never_grows_past_max_keys():
    responder = Responder("500,500,200", max_keys=50)
    for i in range(500):
        responder.decide("POST", "/", f"key-{i}")
    assert responder.tracked_keys == 50


def test_max_keys_must_be_positive():
    with pytest.raises(ValueError):
        Responder(max_keys=0)


def test_subscribe_and_unsubscribe():
    responder = Responder()
    calls = []
    unsubscribe = responder.subscribe(lambda: calls.append("a"))
    responder.set_spec("500")
    responder.set_rules(["/x => 200"])
    responder.set_body(b"hi", "text/plain")
    responder.set_headers(["X-A: 1"])
    assert calls == ["a"] * 4
    unsubscribe()
    unsubscribe()
    responder.set_spec("200")
    assert calls == ["a"] * 4


def test_a_failing_subscriber_does_not_stop_the_others():
    responder = Responder()
    calls = []

    def boom():
        raise RuntimeError("boom")

    responder.subscribe(boom)
    responder.subscribe(lambda: calls.append(1))
    with pytest.raises(RuntimeError):
        responder.set_spec("500")
    assert calls == [1]
    assert responder.spec.text == "500"


def test_concurrent_decide_and_set_spec():
    responder = Responder("500,500,200")
    errors = []

    def worker(n):
        try:
            for i in range(300):
                decision = responder.decide("POST", "/", f"{n}-{i % 7}")
                assert decision.status in (500, 200, 503, 201)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(50):
        responder.set_spec("503,201")
        responder.set_spec("500,500,200")
    for thread in threads:
        thread.join()
    assert errors == []


# --------------------------------------------------------------------------- headers, body, snapshot


def test_configured_headers_body_and_retry_after():
    responder = Responder(
        "429 retry-after=30,200",
        headers=[("X-A", "1"), "Retry-After: 999"],
        body=b'{"ok": false}',
        content_type="application/json",
    )
    first = responder.decide("POST", "/", "k")
    assert first.headers == (("X-A", "1"), ("Retry-After", "30"))
    assert first.body == b'{"ok": false}'
    assert first.content_type == "application/json"
    second = responder.decide("POST", "/", "k")
    assert second.headers == (("X-A", "1"), ("Retry-After", "999"))


def test_default_body_is_left_to_the_server():
    decision = Responder().decide("GET", "/", "k")
    assert (decision.status, decision.body, decision.content_type, decision.headers) == (200, None, None, ())
    assert (decision.rule, decision.spec, decision.step) == (None, "200", 1)


def test_bad_configured_header_is_refused():
    with pytest.raises(SpecError):
        Responder(headers=[("X-A", "1\r\nX-B: 2")])
    responder = Responder(headers=["X-A: 1"])
    with pytest.raises(SpecError):
        responder.set_headers(["nope"])
    assert responder.headers == (("X-A", "1"),)


def test_snapshot_is_json_able():
    responder = Responder(
        "global: 500,200",
        ["POST /x/* => 30% 503"],
        body="héllo",
        content_type="text/plain",
        headers=["X-A: 1"],
        seed=42,
    )
    snap = json.loads(json.dumps(responder.snapshot()))
    assert snap == {
        "spec": "global: 500,200",
        "rules": ["POST /x/* => 30% 503"],
        "headers": [["X-A", "1"]],
        "content_type": "text/plain",
        "body": "héllo",
        "body_encoding": "utf-8",
        "seed": 42,
        "run": 1,
    }
    responder.set_body(None)
    assert responder.snapshot()["body"] is None
    responder.set_body(b"\xff\x00")
    assert responder.snapshot()["body"] == "/wA="
    assert responder.snapshot()["body_encoding"] == "base64"


def test_rules_must_be_a_sequence_not_one_string():
    with pytest.raises(TypeError):
        Responder("200", "/x => 500")


def test_an_answer_every_request_gets_is_made_once_and_changes_with_the_settings():
    responder = Responder("201")
    first = responder.decide("POST", "/a", "k1")
    assert responder.decide("GET", "/b", None) is first  # one answer for the whole run
    responder.set_headers(["X-Test: 1"])
    changed = responder.decide("POST", "/a", "k1")
    assert changed.headers == (("X-Test", "1"),) and changed.run == first.run + 1
    responder.new_run(changed.run)  # the same number again: still a new start
    responder.set_rules(["POST /a => 503"])
    assert responder.decide("POST", "/a", "k1").status == 503
    assert responder.decide("POST", "/b", "k1").status == 201
