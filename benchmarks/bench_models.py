"""The emulator's small real models (issue 13): training cost per recipe family, and what they learn.

* Training: generated interactions with planted structure (``reconciler.emulator.models.synthetic``) —
  100,000 interactions (1,000 users x 1,700 items) and 1,000,000 (10,000 users x 17,000 items). Each recipe
  family (popularity-count, trending-now, SIMS, user-personalization) trains in a fresh Python process; the
  figure is that process's CPU time for ``train()`` (the model a solution version serves; the offline-metrics
  run is reported next to it as INFO) and, for 1M, the process's peak resident memory (interpreter, numpy,
  the generated table and the model included).
* Quality: on the 100,000-interaction planted data, user-personalization's precision_at_25 over
  popularity-count's (the documented offline split), and the share of planted items whose planted partner is
  in SIMS' top 10 for that item.

Run: `.venv/bin/python -m benchmarks.bench_models` (`--quick`: 100k only).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.registry import add_notes, section
from benchmarks.results import Figure, info_row, issue_row

REPO = Path(__file__).resolve().parents[1]
FAMILIES = {
    "popularity": "aws-popularity-count",
    "trending": "aws-trending-now",
    "co-occurrence (SIMS)": "aws-sims",
    "matrix factorisation (UP)": "aws-user-personalization",
}
SIZES = {"100k": (1000, 1700, 100), "1M": (10_000, 17_000, 100)}

_PROBE = """
import json, resource, sys, time
from reconciler.emulator.models import TrainingConfig, offline_metrics, train
from reconciler.emulator.models.synthetic import planted_interactions
from benchmarks.procmem import peak_rss_kb
users, items, per_user = (int(x) for x in sys.argv[2:5])
planted = planted_interactions(users=users, items=items, per_user=per_user, seed=0)
start = time.process_time()
model = train(planted.table, TrainingConfig(sys.argv[1]))
train_cpu = time.process_time() - start
out = {"rows": len(planted.table), "train_cpu": train_cpu}
if sys.argv[5] == "metrics":
    start = time.process_time()
    out["metrics"] = offline_metrics(planted.table, TrainingConfig(sys.argv[1]))
    out["metrics_cpu"] = time.process_time() - start
if sys.argv[1] == "aws-sims":
    found = [b in [i for i, _ in model.recommend(None, a, 10)] for a, b in planted.partners.items()]
    out["partner_hit"] = sum(found) / len(found)
    out["planted"] = len(found)
out["peak_mb"] = peak_rss_kb() / 1024
print(json.dumps(out))
"""


def probe(recipe: str, size: tuple[int, int, int], metrics: bool) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, recipe, *map(str, size), "metrics" if metrics else "-"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@section("models", order=70)
def model_rows(args: argparse.Namespace) -> list[Figure]:
    add_notes(
        "models: each recipe family trains in a fresh process on generated interactions with planted "
        "structure; CPU = process time of train(); peak = the process's max RSS; quality on the 100k data "
        "uses the documented offline split (90 % of users train, newest 10 % of the others' events is truth)."
    )
    rows: list[Figure] = []
    results: dict[tuple[str, str], dict[str, object]] = {}
    sizes = ["100k"] if getattr(args, "quick", False) else ["100k", "1M"]
    for size in sizes:
        for family, recipe in FAMILIES.items():
            result = probe(recipe, SIZES[size], metrics=size == "100k")
            results[(size, recipe)] = result
            cpu = float(result["train_cpu"])  # type: ignore[arg-type]
            name = f"{family}: train {int(result['rows']):,} interactions (CPU)"  # type: ignore[call-overload]
            if size == "100k":
                rows.append(issue_row("models", name, f"{cpu:.3f} s", "<= 5 s", cpu <= 5.0, "issue 13"))
                metrics_cpu = float(result["metrics_cpu"])  # type: ignore[arg-type]
                rows.append(
                    info_row("models", f"{family}: offline metrics run at 100k (CPU)", f"{metrics_cpu:.2f} s")
                )
            else:
                peak = float(result["peak_mb"])  # type: ignore[arg-type]
                rows.append(issue_row("models", name, f"{cpu:.1f} s", "<= 60 s", cpu <= 60.0, "issue 13"))
                rows.append(
                    issue_row(
                        "models",
                        f"{family}: peak memory training 1M",
                        f"{peak:.0f} MB",
                        "<= 1 GB",
                        peak <= 1024,
                        "issue 13",
                    )
                )
    up = results[("100k", "aws-user-personalization")]["metrics"]
    pop = results[("100k", "aws-popularity-count")]["metrics"]
    ratio = up["precision_at_25"] / max(pop["precision_at_25"], 1e-12)  # type: ignore[index]
    rows.append(
        issue_row(
            "models",
            f"precision_at_25 user-personalization / popularity (planted, {up['precision_at_25']:.4f} / "  # type: ignore[index]
            f"{pop['precision_at_25']:.4f})",  # type: ignore[index]
            f"{ratio:.2f}x",
            ">= 1.5x",
            ratio >= 1.5,
            "issue 13",
        )
    )
    sims = results[("100k", "aws-sims")]
    hit = float(sims["partner_hit"])  # type: ignore[arg-type]
    rows.append(
        issue_row(
            "models",
            f"SIMS top 10 holds the planted partner ({sims['planted']} planted items)",
            f"{hit:.0%}",
            ">= 90%",
            hit >= 0.9,
            "issue 13",
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    for row in model_rows(parser.parse_args()):
        print(f"{row.status:5} {row.name}: {row.value} (target {row.target})")


if __name__ == "__main__":
    main()
