"""OpenRLHF's remote reward model client against a real ``rest-shaper serve --http``.

The requests are built exactly as OpenRLHF builds them (reproduced, not imported):

* 0.10.x - 0.11.0, ``openrlhf/utils/agent.py`` ``SingleTurnAgentExecutor._fetch_rewards_via_http``:
  one request per sample, ``{"query": [query], "prompts": [prompt], "labels": [label]}`` where
  ``query = tokenizer.decode(prompt_ids + response_ids, skip_special_tokens=False)``; aiohttp
  ``session.post(url, json=payload)``, ``raise_for_status()``, ``ClientTimeout(total=180)``, 5 tries
  one second apart. The reply's ``rewards``/``scores``/``extra_logs`` are read with ``.get``.
* 0.6 - 0.9.x, ``openrlhf/utils/remote_rm_utils.py`` ``request_api_wrapper``: the rollout batch
  in one request (split evenly over the comma-separated URLs), ``requests.post(url, json=data,
  headers={"Content-Type": "application/json"}, timeout=180)``, 5 tries one second apart; then
  ``torch.cat`` of ``rewards``, ``scores`` and every ``extra_logs`` list over the servers' replies.
"""

import concurrent.futures
import json
import time

import pytest

from http_front import (RestShaperHTTP, close, config_query, post_json, reference_error, reward_refs, split_prompt,
                        vectors)


def openrlhf_post(url, queries, prompts, labels, try_max_times=5):
    """OpenRLHF's client loop: POST, raise on a non-2xx status, retry 5 times one second apart."""
    payload = {"query": queries, "prompts": prompts, "labels": labels}
    last = None
    for _ in range(try_max_times):
        status, body = post_json(url, payload, timeout=180)
        if 200 <= status < 300:
            return json.loads(body)
        last = (status, body)
        time.sleep(1)
    raise RuntimeError(f"Request error for {try_max_times} times: {last}")


@pytest.fixture(scope="module")
def server():
    with RestShaperHTTP("--http-workers", "2") as s:
        yield s


def check_reply(reply, n):
    """What OpenRLHF needs from a reply: per-sample float lists of the same length."""
    assert len(reply["rewards"]) == n and len(reply["scores"]) == n
    assert all(isinstance(x, float) for x in reply["rewards"])
    for key in ("format", "correctness", "length", "reward_error"):
        assert len(reply["extra_logs"][key]) == n, key
        assert all(isinstance(x, float) for x in reply["extra_logs"][key]), key


def compare_ref(row, reply, i):
    """One reward_refs row against row i of a reply; returns a failure message or None."""
    err = reference_error(row)
    logs = reply["extra_logs"]
    if err is not None:
        flagged = [e for e in reply.get("errors", []) if e["index"] == i]
        return None if flagged and logs["reward_error"][i] == 1.0 else f"row {row['index']}: reference raised {err}, reply did not flag it"
    got = {"score": reply["rewards"][i], "format_score": logs["format"][i], "correctness_score": logs["correctness"][i],
           "length_score": logs["length"][i]}
    for key, value in got.items():
        if not close(value, float(row[key])):
            return f"row {row['index']} {row['kind']}: {key} = {value!r}, reference {row[key]!r}"
    return None


def test_reward_refs_one_batch_like_openrlhf_0_9(server):
    """All 495 rows of the ToolRL references in one request (0.9.x shape): every value equals the reference."""
    rows = reward_refs()
    queries = [r["solution_str"] for r in rows]
    reply = openrlhf_post(server.url("/openrlhf/get_reward?reward=toolrl"), queries,
                          [split_prompt(q)[0] for q in queries], [r["ground_truth"] for r in rows])
    check_reply(reply, len(rows))
    assert reply["scores"] == reply["rewards"]
    failures = [f for f in (compare_ref(r, reply, i) for i, r in enumerate(rows)) if f]
    print(f"reward_refs through /openrlhf/get_reward (one batch): {len(rows) - len(failures)} passed, {len(failures)} failed")
    assert not failures, failures[:5]
    assert len(rows) == 495


def test_reward_refs_per_sample_like_openrlhf_0_10(server):
    """The same rows one sample per request, 32 at a time (0.10+ sends one request per rollout)."""
    rows = reward_refs()
    url = server.url("/get_reward?reward=toolrl")

    def one(row):
        q = row["solution_str"]
        reply = openrlhf_post(url, [q], [split_prompt(q)[0]], [row["ground_truth"]])
        check_reply(reply, 1)
        return compare_ref(row, reply, 0)

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        failures = [f for f in pool.map(one, rows) if f]
    print(f"reward_refs through /get_reward (per sample): {len(rows) - len(failures)} passed, {len(failures)} failed")
    assert not failures, failures[:5]


def test_golden_vector_reward_configs(server):
    """Every golden vector case under each of its 14 reward configs (flags and step in the URL)."""
    doc = vectors()
    cases = doc["cases"]
    compared = 0
    for config in doc["reward_configs"]:
        queries = [c["solution_str"] for c in cases]
        reply = openrlhf_post(server.url("/openrlhf/get_reward?" + config_query(config)), queries,
                              [split_prompt(q)[0] for q in queries], [c["ground_truth"] for c in cases])
        check_reply(reply, len(cases))
        assert reply["step"] == config.get("step", 0)
        for i, c in enumerate(cases):
            want = c["rewards"][config["name"]]
            got = {"score": reply["rewards"][i], "format": reply["extra_logs"]["format"][i],
                   "correctness": reply["extra_logs"]["correctness"][i], "length": reply["extra_logs"]["length"][i]}
            for key, value in got.items():
                assert close(value, float(want[key])), (c["id"], config["name"], key, value, want[key])
            compared += 1
    assert compared == len(doc["reward_configs"]) * len(cases) == 14 * 26


def test_two_servers_split_like_openrlhf(server):
    """A comma-separated --reward.remote_url: OpenRLHF splits the batch evenly and concatenates the replies."""
    rows = reward_refs()[:10]
    urls = [server.url("/openrlhf/get_reward?reward=toolrl"), server.url("/get_reward?reward=toolrl")]
    size = (len(rows) + len(urls) - 1) // len(urls)
    replies = [openrlhf_post(u, [r["solution_str"] for r in rows[i * size:(i + 1) * size]],
                             [split_prompt(r["solution_str"])[0] for r in rows[i * size:(i + 1) * size]],
                             [r["ground_truth"] for r in rows[i * size:(i + 1) * size]]) for i, u in enumerate(urls)]
    rewards = sum((r["rewards"] for r in replies), [])
    logs = {k: sum((r["extra_logs"][k] for r in replies), []) for k in replies[0]["extra_logs"]}
    assert len(rewards) == len(rows) and all(len(v) == len(rows) for v in logs.values())
    for i, row in enumerate(rows):
        assert close(rewards[i], row["score"]) and close(logs["format"][i], row["format_score"])


def test_malformed_requests_get_4xx_and_the_server_goes_on(server):
    url = server.url("/openrlhf/get_reward")
    for payload, status, code in [
        ({"query": ["a"]}, 400, "bad_header"),                                    # no labels
        ({"query": ["a"], "prompts": ["p"], "labels": [None]}, 400, "bad_header"),  # OpenRLHF without --data.label_key
        ({"query": ["a", "b"], "prompts": ["p", "p"], "labels": ["x"]}, 400, "shape"),
        ({"query": "a", "labels": "x"}, 400, "bad_header"),
    ]:
        got, body = post_json(url, payload)
        assert got == status, (payload, body)
        assert json.loads(body)["error"]["code"] == code
    got, body = post_json(server.url("/openrlhf/get_reward?flag=SCHEDULEREWARD"), {"query": ["a"], "labels": ["b"]})
    assert got == 400 and b"step" in body  # a step-dependent flag needs ?step= (or --http-samples-per-step)
    reply = openrlhf_post(url, ["x"], ["p"], ["y"])
    check_reply(reply, 1)
