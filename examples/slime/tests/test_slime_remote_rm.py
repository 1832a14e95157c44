"""slime's remote reward model client against a real ``rest-shaper serve --http``.

The request is built exactly as slime builds it (reproduced, not imported): slime 0.3.1,
``slime/rollout/rm_hub/__init__.py`` ``remote_rm``: ``{"prompt": sample.prompt, "response":
sample.response, "label": sample.label}`` posted with ``json=`` on one shared aiohttp session
(``TCPConnector(limit=64)``, ``ClientTimeout(total=120)``), ``raise_for_status()``, up to 10 tries
with ``min(2**attempt, 30) + random()`` seconds between them. With ``--apply-chat-template`` the
prompt is the chat-templated text ending in the assistant header; the reward is read from the
reply with ``--reward-key reward`` (a dict) or is the reply itself (``?plain=1``).
"""

import concurrent.futures
import http.client
import json
import random
import time

import pytest

from http_front import (RestShaperHTTP, close, config_query, post_json, reference_error, reward_refs, split_prompt,
                        vectors)


def slime_remote_rm(url, sample, max_retries=10):
    """slime's remote_rm loop."""
    payload = {"prompt": sample["prompt"], "response": sample["response"], "label": sample["label"]}
    for attempt in range(max_retries):
        status, body = post_json(url, payload, timeout=120)
        if 200 <= status < 300:
            return json.loads(body)
        if attempt + 1 >= max_retries:
            raise RuntimeError(f"remote_rm failed after {attempt + 1} attempts: {status} {body!r}")
        time.sleep(min(2 ** attempt, 30) + random.random())


def sample_of(solution, label):
    prompt, response = split_prompt(solution)
    return {"prompt": prompt, "response": response, "label": label}


@pytest.fixture(scope="module")
def server():
    with RestShaperHTTP("--http-workers", "2") as s:
        yield s


def test_reward_refs_through_slime_route(server):
    """Every ToolRL reference row, 64 requests at a time (slime's connector limit): equal to the reference."""
    rows = reward_refs()
    url = server.url("/slime/reward?reward=toolrl")

    def one(row):
        reply = slime_remote_rm(url, sample_of(row["solution_str"], row["ground_truth"]))
        assert set(reply) >= {"reward", "format", "correctness", "length", "step"}
        err = reference_error(row)
        if err is not None:
            return None if reply.get("error", {}).get("code") == "reward_error" else f"row {row['index']}: reference raised {err}"
        for key, ref in [("reward", "score"), ("format", "format_score"), ("correctness", "correctness_score"),
                         ("length", "length_score")]:
            if not close(reply[key], float(row[ref])):
                return f"row {row['index']} {row['kind']}: {key} = {reply[key]!r}, reference {row[ref]!r}"
        return None

    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        failures = [f for f in pool.map(one, rows) if f]
    print(f"reward_refs through /slime/reward: {len(rows) - len(failures)} passed, {len(failures)} failed")
    assert not failures, failures[:5]
    assert len(rows) == 495


def test_golden_vector_reward_configs_plain(server):
    """Every golden vector case under each reward config, as a bare number (?plain=1, no --reward-key)."""
    doc = vectors()
    compared = 0
    for config in doc["reward_configs"]:
        url = server.url("/slime/reward?plain=1&" + config_query(config))
        for c in doc["cases"]:
            got = slime_remote_rm(url, sample_of(c["solution_str"], c["ground_truth"]))
            assert isinstance(got, float)
            assert close(got, float(c["rewards"][config["name"]]["score"])), (c["id"], config["name"], got)
            compared += 1
    assert compared == 14 * 26


def test_keep_alive_session_like_aiohttp(server):
    """One persistent connection for many samples, as slime's shared session keeps it."""
    rows = reward_refs()[:50]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        for row in rows:
            body = json.dumps(sample_of(row["solution_str"], row["ground_truth"]))
            conn.request("POST", "/slime/reward?reward=toolrl", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            reply = json.loads(r.read())
            assert r.status == 200 and close(reply["reward"], row["score"])
    finally:
        conn.close()


def test_malformed_requests_get_4xx_and_the_server_goes_on(server):
    url = server.url("/slime/reward")
    for payload, code in [
        ({"prompt": [{"role": "user", "content": "hi"}], "response": "r", "label": "l"}, "bad_header"),  # no --apply-chat-template
        ({"prompt": "p", "response": "r"}, "bad_header"),
        ({"prompt": "p", "response": "r", "label": {"a": 1}}, "bad_header"),
        (["p", "r", "l"], "bad_header"),
    ]:
        status, body = post_json(url, payload)
        assert status == 400, (payload, body)
        assert json.loads(body)["error"]["code"] == code
    reply = slime_remote_rm(url, {"prompt": "", "response": "x", "label": "y"})
    assert reply["step"] == 0
