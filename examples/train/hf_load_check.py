#!/usr/bin/env python3
"""Checks that a fallback-trainer checkpoint is a HuggingFace model: transformers loads the folder
as Qwen3ForCausalLM with no missing or unexpected weights, the weights equal the safetensors file,
and a forward pass gives finite logits of the expected shape. Prints one JSON object.

  python3 examples/train/hf_load_check.py runs/qwen3-0.6b-cpu/final
Needs torch, transformers and safetensors (make -C examples hf-load-check CHECKPOINT=DIR)."""
import json
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main():
    folder = sys.argv[1]
    model, info = AutoModelForCausalLM.from_pretrained(folder, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    saved = load_file(f"{folder}/model.safetensors")
    params = dict(model.named_parameters())
    mismatched = [n for n, t in saved.items() if n in params and not torch.equal(params[n].detach(), t)]
    ids = torch.arange(1, 17).unsqueeze(0)
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    out = dict(folder=folder, architecture=type(model).__name__, parameters=sum(p.numel() for p in model.parameters()),
               tied=model.get_input_embeddings().weight.data_ptr() == model.get_output_embeddings().weight.data_ptr(),
               loading_problems=problems, tensors_in_file=len(saved), tensors_differing=mismatched,
               logits_shape=list(logits.shape), logits_finite=bool(torch.isfinite(logits).all()),
               transformers=__import__("transformers").__version__)
    print(json.dumps(out, indent=2))
    ok = not problems and not mismatched and out["logits_finite"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
