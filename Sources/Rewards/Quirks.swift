// Behaviours of the reference `rlla` rewards that this module reproduces on purpose
// (each is covered by a test in Tests/RewardsTests; R-numbers are those of shared/README.md).
//
// Scored text
// - Only the text after the LAST `<|im_start|>assistant` and before the first `<|im_end|>` after it,
//   `str.strip()`ped with Python's Unicode whitespace set (U+3000, U+00A0, U+2028, U+001C…); text after
//   `<|im_end|>` is ignored (R5). `EXPERIMENT_NAME` containing "llama" (case-sensitive) switches to
//   the Llama-3 markers (`llamaTemplate`).
//
// Format (two variants, one file each)
// - rest: tags present, first occurrences in order, block tags exactly once (R4: a second
//   `<tool_call>` block fails format), no `<response>` in a tool-call-only answer; blank lines or
//   prose between/after tags are fine; a think-only answer needs exactly one `<think>`/`</think>`.
// - toolrl: DOTALL regexes anchored at both ends: exactly one `\n` between `</think>` and
//   `<tool_call>`, the call tags on their own lines, nothing after the last closing tag; a think-only
//   answer may repeat think blocks.
// - `<toolcall>` (no underscore) is not a tool-call tag for either.
//
// Correctness
// - Ground truth without `<tool_call>` → 0 whatever the response (and the schedule).
// - Only the text between the FIRST `<tool_call>` and the next `<tool_call>`/`</tool_call>` is read,
//   stripped, split on "\n"; every line must be one JSON value (R3): pretty-printed JSON, a blank
//   line inside the block, a Python dict or a trailing comma → minimum. Blank lines at the block's
//   edges are stripped away first and do not count.
// - A bad ground-truth line raises (R8) → `RewardError.unparseableGroundTruth` (pythonType
//   `JSONDecodeError`); everything on the prediction side that would raise in Python (missing
//   tags, KeyError, TypeError on non-dict calls, unhashable list/dict names in `Counter`,
//   AttributeError on non-dict parameters, `len()` of a number) is the minimum.
// - An exact call-list match (Python `==`: `1 == 1.0 == True`, dict order ignored, list order
//   kept, R2) is the maximum before any key is read; so a prediction using "arguments" is the minimum
//   only when a call of the same name is compared (R1) — not when the lists are equal or no name matches.
// - Names and parameter-key lists score Jaccard-style over multisets (`Counter`: 1, 1.0 and True are
//   one key); the per-call value score uses top-level `==`, so NaN never equals NaN there, while
//   list/dict comparisons see json's single shared NaN object and treat NaN as equal (identity).
// - Each gold call takes the best still-unused predicted call of the same name, strictly better than
//   0 and the first on ties; `len(parameters)` counts keys (or list items / string code points).
// - The result is `(max − min) · score / localMax + min` in exactly that float order.
//
// Ranges and flags (R7)
// - SCHEDULEREWARD: format max 2 − (2 − max)·step/150 (≥ 1), min −2 + (2 + min)·step/150 (≤ −1);
//   correctness max (max − 2)·step/150 + 2 (≤ 3), min (min + 2)·step/150 − 2 (≥ −3).
// - MAX1STEP30MAX3 is applied first: format halved from step 30, correctness divided by 3 before it.
// - CORRECTMAX1: correctness ±1. COARSEREWARD: non-exact → min. REFINEDREWARD: name/key lists must be
//   equal (else 0). INTERMEDIATEREWARD: localMax counts 1 per gold call and only whole-call equality scores.
// - A flag is on only when its variable is exactly "1" (`os.getenv(...) == "1"`).
//
// Length (R6)
// - WITHLENGTH: words (`str.split()`) of the LAST think block / 512 (SCHEDULELENGTH: 256·step/105 + 384),
//   Python `round(x, 2)` (half-even on the exact binary value: 64/512 → 0.12), capped at 1; 0 without
//   both think tags. rest returns it but does not add it to the score; toolrl adds it.
//
// Known deviation: a lone UTF-16 surrogate in a `\uD8xx` escape becomes U+FFFD (Swift strings cannot
// hold it), so two different lone surrogates compare equal here and unequal in Python.
