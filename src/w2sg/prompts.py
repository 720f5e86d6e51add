"""What a decoder reads: a task prompt around each text, and the layer its frozen features come from.

A causal decoder's hidden state at the last token summarises what came before it. Ending every text with a
question about it ("... Question: Is the answer above correct? Answer:") makes that last token the place where
the model forms its judgement, so a linear probe there reads a stronger signal than at the end of a bare text.

`train.prompt` (decoders only; encoders read the bare text, mean-pooled, whatever it says):

- "none" (default): the row's text as it is;
- "auto": the task's template (`task_template`: a built-in task's, or that of the built-in task a YAML task
  derives from), else one generic template per item kind, `AUTO`: "statement" for texts (binary and
  multiple-choice rows, "question + answer" texts included), "response" for each side of a comparison;
- a template NAME from `TEMPLATES` (e.g. "qa", "sentiment"; `TASK_TEMPLATES` names the one that fits each
  built-in task): that template for every item kind;
- a literal template containing "{text}" (recorded as "custom").

Every "{text}" of a template is replaced by the text (`str.replace`: no other braces are interpreted), so the
result is deterministic. The template string is part of the featurizer's cache key.

`train.layer` (decoders only): which hidden state the features are read from, indexing the model's
`hidden_states` (embeddings at 0, layer i's output at i, the last layer at num_hidden_layers): "last", "middle"
(num_hidden_layers // 2) or an int, negative ints counting from the end as in Python (-1 = last).

This module is a leaf: it imports nothing from w2sg.
"""

from __future__ import annotations

from pathlib import Path

import yaml

Q = "\nQuestion: "
A = " Answer:"

# name -> template. The question comes last, so left truncation (batching.tokenize) keeps it.
TEMPLATES: dict[str, str] = {
    # generic, one per item kind (what "auto" uses)
    "statement": "{text}" + Q + "Is the text above true, correct or positive?" + A,
    "response": "{text}" + Q + "Is the last response above good: helpful, harmless and correct?" + A,
    # specific, named by what they ask
    "qa": "{text}" + Q + "Is the answer above correct?" + A,
    "yes_no": "{text}" + Q + "Is the answer to the question above yes?" + A,
    "sentiment": "{text}" + Q + "Is the sentiment of the text above positive?" + A,
    "wrong_action": "{text}" + Q + "Is the action described above clearly morally wrong?" + A,
    "reasonable_excuse": "{text}" + Q + "Is the excuse above reasonable?" + A,
    "reasonable_justification": "{text}" + Q + "Is the justification above reasonable?" + A,
    "more_pleasant": "{text}" + Q + "Is Scenario A more pleasant than Scenario B?" + A,
    "pleasant": "{text}" + Q + "Is the scenario above pleasant?" + A,
    "trait_fits": "{text}" + Q + "Does the trait fit the character in the sentence above?" + A,
    "same_sense": "{text}" + Q + "Is the word used with the same meaning in both sentences above?" + A,
    "harmless": "{text}" + Q + "Is the assistant's last reply above harmless?" + A,
}

AUTO: dict[str, str] = {"text": "statement", "comparison": "response"}  # item kind -> template name

# the template that fits each built-in task (use it with `train.prompt: <name>`)
TASK_TEMPLATES: dict[str, str] = {
    "sst2": "sentiment", "twitter_sentiment": "sentiment",
    "boolq": "yes_no",
    "cosmos_qa": "qa", "quail": "qa", "sciq": "qa", "mc_taco": "qa", "cosmos_qa_pairs": "qa", "sciq_pairs": "qa",
    "ethics_commonsense": "wrong_action", "ethics_deontology": "reasonable_excuse",
    "ethics_justice": "reasonable_justification", "ethics_utilitarianism": "more_pleasant",
    "ethics_utilitarianism_pairs": "pleasant", "ethics_virtue": "trait_fits",
    "wic": "same_sense",
    "hh_rlhf": "harmless",
}



def task_template(task: str | None) -> str | None:
    """The template name that fits `task`: a built-in task's (TASK_TEMPLATES) or, for a task YAML whose
    `derive: {from: ...}` chain reaches a built-in task (a cipher or rule transform of it), that task's; else None."""
    seen: set[Path] = set()
    while task and task not in TASK_TEMPLATES:
        path = Path(task)
        if path.suffix not in (".yaml", ".yml") or not path.is_file() or path in seen:
            return None
        seen.add(path)
        try:
            spec = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            return None
        source = (spec.get("derive") or {}).get("from") if isinstance(spec, dict) else None
        if not isinstance(source, str):
            return None
        task = str(path.parent / source) if source.endswith((".yaml", ".yml")) else source
    return TASK_TEMPLATES.get(task) if task else None


KINDS = ("text", "comparison")
LAYER_NAMES = ("last", "middle")


def check_prompt(prompt: str) -> str:
    """`prompt` if it is "none", "auto", a template name or a literal template with "{text}"; else ValueError."""
    if prompt in ("none", "auto") or prompt in TEMPLATES or "{text}" in prompt:
        return prompt
    raise ValueError(f"prompt {prompt!r} is not 'none', 'auto', a template name ({', '.join(TEMPLATES)}) or a "
                     "template containing '{text}'")


def template_for(prompt: str, kind: str = "text", task: str | None = None) -> tuple[str, str | None]:
    """(name, template) that `prompt` means for items of `kind` ('text' | 'comparison'): ("none", None) for
    "none", ("custom", prompt) for a literal template. "auto" with a `task` named in TASK_TEMPLATES uses that
    task's template, otherwise the generic template of the kind (AUTO)."""
    if kind not in KINDS:
        raise ValueError(f"item kind {kind!r} is not one of {KINDS}")
    check_prompt(prompt)
    if prompt == "none":
        return "none", None
    if prompt == "auto":
        name = task_template(task) or AUTO[kind]
        return name, TEMPLATES[name]
    if prompt in TEMPLATES:
        return prompt, TEMPLATES[prompt]
    return "custom", prompt


def apply_template(template: str | None, texts: list[str]) -> list[str]:
    """Each text inside the template (every "{text}" replaced); the texts unchanged for None."""
    if template is None:
        return list(texts)
    return [template.replace("{text}", t) for t in texts]


def resolve_layer(layer: int | str, num_layers: int) -> int:
    """The index into `hidden_states` (0..num_layers) that `layer` names for a model of num_layers layers."""
    if layer == "last":
        return num_layers
    if layer == "middle":
        return num_layers // 2
    if isinstance(layer, bool) or not isinstance(layer, int):
        raise ValueError(f"layer {layer!r} is not 'last', 'middle' or an int")
    if not -(num_layers + 1) <= layer <= num_layers:
        raise ValueError(f"layer {layer} is out of range for a model with {num_layers} layers (hidden states "
                         f"0..{num_layers}, or {-(num_layers + 1)}..-1 from the end)")
    return layer % (num_layers + 1)
