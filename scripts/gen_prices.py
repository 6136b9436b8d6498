#!/usr/bin/env python3
"""Generate src/pricing/prices.json, bifrost's embedded model price table.

Why this exists: bifrost reports the cost of each request, so it needs per-model
token prices. Rather than hand-maintaining those numbers, we derive them from
the `genai-prices` dataset (https://github.com/pydantic/genai-prices), which is
actively maintained, and embed the result in the binary. This script turns that
dataset into the small, flat JSON table that the Rust side reads.

Refresh the table:

    pip install -U genai-prices && python3 scripts/gen_prices.py

Check that the committed table is current (exits 1 if it is not):

    python3 scripts/gen_prices.py --check

Output (USD per 1M tokens, keys sorted, indent=1):

    {"source": "genai-prices <version>", "generated_by": "scripts/gen_prices.py",
     "models": {"<provider>/<model id>": {"input", "cached_input", "output",
                "cache_write", "input_above_200k", "output_above_200k",
                "context_window"}}}

How the dataset is mapped:
  * Providers: genai-prices `openai` -> openai, `anthropic` -> anthropic,
    `google` -> gemini. The google provider mixes Gemini-API and Vertex entries
    (Claude-on-Vertex, `*-maas`), so only `gemini-*` models are taken from it.
  * Only text/chat models: models that are image/audio/video generators,
    embeddings, TTS, transcription, realtime/live, moderation, fine-tune
    patterns, or that lack a per-token input *and* output price are skipped.
  * Keys: the model's canonical id, every `equals` alias of its match rule, and
    the literal of `starts_with`/`ends_with`/`contains` clauses when that
    literal looks like a whole model id (not `claude-sonnet-4-2025`, `foo-`). Regex clauses are ignored. A key is
    only emitted if genai-prices' own first-match lookup resolves it to the
    same model, so keys never disagree with the library.
  * Conditional (start-date) prices: the price active on the as-of date (today
    in UTC unless --as-of is given) is used; time-of-day prices are ignored in
    favour of the unconstrained default. Request variants (batch, fast mode,
    flex/priority tiers) are ignored: the table holds standard prices.
  * Tiered prices: the base goes in input/output/cached_input/cache_write and
    the first upper tier in input_above_200k/output_above_200k. NOTE: despite
    the field names the dataset's threshold is not always 200k (e.g. 272k for
    newer OpenAI models, 128k for Gemini 1.5, 100k for Claude Haiku 5.5).
  * cache_write is the default (5-minute) cache write price; cached_input is
    the cache read price. Missing values are null.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

try:
    import genai_prices
    from genai_prices import types as gp
    from genai_prices.data import providers as GP_PROVIDERS
except ImportError:  # pragma: no cover
    sys.exit('genai-prices is not installed: pip install -U genai-prices')

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = REPO_ROOT / 'src' / 'pricing' / 'prices.json'

# genai-prices provider id -> bifrost provider name
PROVIDER_MAP = {'openai': 'openai', 'anthropic': 'anthropic', 'google': 'gemini'}

# Model ids must start with one of these for the given (genai-prices) provider.
ID_PREFIXES = {'google': ('gemini-',)}

# Non-text models identifiable by name.
SKIP_NAME_RE = re.compile(
    r'(image|audio|embedding|tts|realtime|transcribe|moderation|dall-e|whisper|'
    r'(^|-)live(-|$)|native-audio|banana|omni|^ft:|\.ft-|-maas$)'
)
# Non-text output, or a price that is not per token.
SKIP_PRICE_KEYS = {
    'output_image_mtok', 'output_audio_mtok', 'output_video_mtok',
    'audio_hours', 'input_audio_hours', 'input_mchars',
}
ID_LIKE_RE = re.compile(r'^[a-z0-9][a-z0-9.\-:]*[a-z0-9]$')
# Prefix fragments such as `claude-sonnet-4-2025` or `gemini-2.0-flash-0`.
FRAGMENT_RE = re.compile(r'(-20\d\d|[a-z]-\d)$')


def num(value: Decimal | None) -> float | None:
    if value is None:
        return None
    return float(round(Decimal(value), 6))


def split_tier(value) -> tuple[Decimal | None, Decimal | None]:
    """Return (base, first upper tier) for a flat or tiered price."""
    if value is None:
        return None, None
    if isinstance(value, gp.TieredPrices):
        upper = value.tiers[0].price if value.tiers else None
        return value.base, upper
    return value, None


def resolve_prices(model: gp.ModelInfo, as_of: dt.date) -> gp.ModelPrice:
    """Standard (non-variant) prices active on `as_of`; time-of-day prices ignored."""
    if isinstance(model.prices, gp.ModelPrice):
        return model.prices
    if not model.prices:
        return gp.ModelPrice()
    chosen = model.prices[0].prices
    for cond in reversed(model.prices):  # later entries take precedence
        c = cond.constraint
        if c is None or (isinstance(c, gp.StartDateConstraint) and c.start_date <= as_of):
            chosen = cond.prices
            break
    return chosen


def future_changes(model: gp.ModelInfo, as_of: dt.date) -> list[dt.date]:
    if isinstance(model.prices, gp.ModelPrice):
        return []
    return sorted(
        c.constraint.start_date
        for c in model.prices
        if isinstance(c.constraint, gp.StartDateConstraint) and c.constraint.start_date > as_of
    )


def literals(clause) -> list[tuple[str, str]]:
    """(kind, literal) pairs for every clause in a match rule."""
    if isinstance(clause, gp.ClauseOr):
        return [x for sub in clause.or_ for x in literals(sub)]
    if isinstance(clause, gp.ClauseAnd):
        return [x for sub in clause.and_ for x in literals(sub)]
    for kind in ('equals', 'starts_with', 'ends_with', 'contains'):
        if isinstance(getattr(clause, kind, None), str):
            return [(kind, getattr(clause, kind))]
    return []  # regex


def candidate_keys(model: gp.ModelInfo) -> list[str]:
    keys = [model.id.lower()]
    for kind, lit in literals(model.match):
        lit = lit.lower()
        if kind == 'equals' or (ID_LIKE_RE.match(lit) and not FRAGMENT_RE.search(lit)):
            keys.append(lit)
    return [k for k in keys if not SKIP_NAME_RE.search(k)]


def is_text_model(provider_id: str, model: gp.ModelInfo, prices: gp.ModelPrice) -> bool:
    prefixes = ID_PREFIXES.get(provider_id)
    if prefixes and not model.id.startswith(prefixes):
        return False
    if SKIP_NAME_RE.search(model.id.lower()):
        return False
    present = {k for k, v in prices.__dict__.items() if v is not None}
    if present & SKIP_PRICE_KEYS:
        return False
    return prices.input_mtok is not None and prices.output_mtok is not None


def build(as_of: dt.date) -> tuple[dict, list[str]]:
    models: dict[str, dict] = {}
    notes: list[str] = []
    by_id = {p.id: p for p in GP_PROVIDERS}
    for gp_id, name in sorted(PROVIDER_MAP.items()):
        provider = by_id[gp_id]
        for model in provider.models:
            prices = resolve_prices(model, as_of)
            if not is_text_model(gp_id, model, prices):
                continue
            inp, inp_hi = split_tier(prices.input_mtok)
            out, out_hi = split_tier(prices.output_mtok)
            cached, _ = split_tier(prices.cache_read_mtok)
            cwrite, _ = split_tier(prices.cache_write_mtok)
            entry = {
                'input': num(inp),
                'cached_input': num(cached),
                'output': num(out),
                'cache_write': num(cwrite),
                'input_above_200k': num(inp_hi),
                'output_above_200k': num(out_hi),
                'context_window': model.context_window,
            }
            changes = future_changes(model, as_of)
            if changes:
                notes.append(f'{name}/{model.id}: scheduled price change on {changes[0].isoformat()}')
            for key in candidate_keys(model):
                # Only emit keys that genai-prices itself resolves to this model.
                if provider._match_model(key) is not model:
                    continue
                full = f'{name}/{key}'
                if full in models and models[full] != entry:
                    notes.append(f'conflicting entries for {full}; keeping the first')
                    continue
                models[full] = entry
    doc = {
        'source': f'genai-prices {genai_prices.__version__}',
        'generated_by': 'scripts/gen_prices.py',
        'models': models,
    }
    return doc, notes


def render(doc: dict) -> str:
    return json.dumps(doc, indent=1, sort_keys=True) + '\n'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--check', action='store_true', help='exit 1 if the file on disk is out of date')
    ap.add_argument('--as-of', type=dt.date.fromisoformat, default=None,
                    help='resolve date-conditional prices as of YYYY-MM-DD (default: today, UTC)')
    ap.add_argument('-q', '--quiet', action='store_true')
    args = ap.parse_args()
    as_of = args.as_of or dt.datetime.now(dt.timezone.utc).date()

    doc, notes = build(as_of)
    text = render(doc)
    if not args.quiet:
        for note in notes:
            print(f'note: {note}', file=sys.stderr)

    if args.check:
        current = OUT_PATH.read_text() if OUT_PATH.exists() else None
        if current != text:
            print(f'{OUT_PATH.relative_to(REPO_ROOT)} is out of date; run: python3 scripts/gen_prices.py',
                  file=sys.stderr)
            return 1
        print(f'{OUT_PATH.relative_to(REPO_ROOT)} is up to date ({doc["source"]})')
        return 0

    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    OUT_PATH.write_text(text)
    counts: dict[str, int] = {}
    for key in doc['models']:
        prov = key.split('/', 1)[0]
        counts[prov] = counts.get(prov, 0) + 1
    summary = ', '.join(f'{k}={v}' for k, v in sorted(counts.items()))
    print(f'wrote {OUT_PATH.relative_to(REPO_ROOT)}: {len(doc["models"])} keys ({summary}) from {doc["source"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
