"""Model quality, training time and peak memory on the synthetic world.

For each size, a fresh world (a seed never used for the shipped sample) is
generated; the model trains on its past and is tested on its newest months
(``train_and_evaluate``), beside the baselines and the generator's true
probabilities (the best achievable AUC). Each configuration runs in its own
subprocess so its peak RSS is its own.

    python bench/bench_model.py                      # sizes 50k, 200k, 1M
    python bench/bench_model.py --sizes 200000 --variants
    python bench/bench_model.py --deployment         # train once, score months
    python bench/bench_model.py --fit-only --sizes 1000000 5000000

Writes bench/results/model.md (and model.json). ``--deployment`` (issue 13)
trains once at a cut on several worlds (``bench/_deployment.py``: bench.worlds
and ptdenial.datasets variants) and scores months 1, 2-3 and 4-6 after it,
with and without a nightly refresh of the history snapshot; it writes
bench/results/model-deployment.{md,json} and the deployment section of
model.md (kept when the other modes rewrite the file).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the repository root, for bench.worlds (the deployment worlds)
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from _common import RESULTS, machine_note, markdown_table, peak_rss_mib  # noqa: E402

WORLD_SEED = 20261127

VARIANTS = {
    "lgbm (default)": {},
    "hgb": {"learner": "hist_gradient_boosting"},
    "lgbm sigmoid": {"calibration": "sigmoid"},
    "lgbm 97112 rows only": {"train_codes": "97112"},
    "lgbm native categoricals": {"categorical": "native"},
    "lgbm class_weight=balanced": {"class_weight": "balanced"},
    "lgbm max_bin=63": {"learner_params": {"max_bin": 63}},
}


def _world(n_lines: int, seed: int):
    from ptdenial.datasets import make_claims

    pilot = make_claims(200, random_state=seed)
    per_patient = max(len(pilot.claims) / 200, 1.0)
    n_patients = max(int(n_lines / per_patient), 50)
    return make_claims(n_patients, random_state=seed)


def run_one(n_lines: int, params: dict, seed: int) -> dict:
    from ptdenial.model import BASELINES, train_and_evaluate
    from ptdenial.schema import validate_claims

    t0 = time.perf_counter()
    world = _world(n_lines, seed)
    claims = validate_claims(world.claims, run_date="2100-01-01").valid
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = train_and_evaluate(claims, truth=world.truth, **params)
    t_total = time.perf_counter() - t0
    m = report.metrics.set_index("scorer")
    card = report.model.card_
    out = {
        "lines": len(claims),
        "train_rows": card["rows"]["train"],
        "test_97112": int(m.loc["model", "n"]),
        "gen_s": round(t_gen, 1),
        "train_eval_s": round(t_total, 1),
        "peak_rss_mib": round(peak_rss_mib()),
        "trees": card["n_iter"],
    }
    for scorer in m.index:
        out[f"auc_{scorer}"] = float(m.loc[scorer, "roc_auc"])
    out["ece_model"] = float(m.loc["model", "ece"])
    out["brier_model"] = float(m.loc["model", "brier"])
    out["gap_to_truth"] = out["auc_true_probability"] - out["auc_model"]
    if "auc_best_achievable" in out:
        out["gap_to_best"] = out["auc_best_achievable"] - out["auc_model"]
    baselines = [
        k for k in out if k.startswith("auc_") and k.split("_", 1)[1] in BASELINES
    ]
    out["margin_over_best_baseline"] = out["auc_model"] - max(out[k] for k in baselines)
    out.update(_uncertainty(report, max(baselines, key=out.get).split("_", 1)[1]))
    return out


def _uncertainty(report, best_baseline: str, draws: int = 200) -> dict:
    """How much of the margin and the ECE the test lines' sampling noise explains.

    ``margin_se``: bootstrap standard error of the model's AUC minus the best
    baseline's (paired: the same resampled lines for both).
    ``ece_floor``: median ECE of a perfectly calibrated model with the model's
    scores on these lines (:func:`ptdenial.evaluation.ece_noise_floor`).
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from ptdenial.evaluation import ece_noise_floor

    pred = report.predictions
    y = pred["denied"].to_numpy(dtype=int)
    a = pred["score_model"].to_numpy(dtype=float)
    b = pred[f"score_{best_baseline}"].to_numpy(dtype=float)
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(draws):
        i = rng.integers(0, len(y), len(y))
        if y[i].min() == y[i].max():
            continue
        diffs.append(roc_auc_score(y[i], a[i]) - roc_auc_score(y[i], b[i]))
    floor = ece_noise_floor(a)
    return {
        "margin_se": float(np.std(diffs)),
        "ece_floor": floor["median"],
        "ece_floor_p95": floor["p95"],
    }


def fit_time(n_lines: int, seed: int) -> dict:
    """Time one plain fit (what `ptdenial train` refits) and its peak memory."""
    from ptdenial.model import DenialRiskModel
    from ptdenial.schema import validate_claims

    world = _world(n_lines, seed)
    claims = validate_claims(world.claims, run_date="2100-01-01").valid
    del world
    gen_peak = peak_rss_mib()
    # the generator's own peak is not the fit's: restart the high-water mark
    reset = _reset_peak()
    base = _status_mib("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    DenialRiskModel().fit(claims)
    fit_s = time.perf_counter() - t0
    return {
        "lines": len(claims),
        "fit_s": round(fit_s, 1),
        # CPU seconds of every thread of the fit: less sensitive than fit_s
        # to other work on a shared machine (the learner uses 2 threads)
        "fit_cpu_s": round(time.process_time() - c0, 1),
        "load_1min_after": round(os.getloadavg()[0], 1),
        "peak_rss_mib": round(_status_mib("VmHWM") if reset else peak_rss_mib()),
        "rss_before_fit_mib": round(base),
        "generation_peak_mib": round(gen_peak),
    }


def _reset_peak() -> bool:
    """Reset this process's peak RSS (Linux clear_refs "5"); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_mib(field: str) -> float:
    """``VmRSS``/``VmHWM`` of this process from /proc/self/status, in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return peak_rss_mib()


DEPLOYMENT_MARK = "<!-- deployment table (bench_model.py --deployment) -->"


def deployment_one(world: str) -> list[dict]:
    """One world of the deployment table (run in its own process)."""
    from _deployment import WORLDS, deploy

    t0 = time.perf_counter()
    rows = deploy(WORLDS[world][0]())
    for r in rows:
        r["seconds"] = round(time.perf_counter() - t0, 1)
    return rows


def _deployment_table(rows: list[dict]) -> str:
    from _deployment import WORLDS

    cols = ["world", "scoring", "window", "lines", "auc_model", "auc_best",
            "auc_true", "ece", "ece_floor", "mean_predicted", "realized"]  # fmt: skip
    worlds = "\n".join(f"* **{name}**: {desc}" for name, (_, desc) in WORLDS.items())
    return "\n".join(
        [
            DEPLOYMENT_MARK,
            "## Deployment: trained once, scored night after night (issue 13)\n",
            machine_note() + "\n",
            "Each world is trained once on its history as exported on 2025-06-30 "
            "(documents signed later and outcomes not known yet are empty), then "
            "scores each later night's claims as they were on that night, with "
            "the snapshot it was trained with (`no refresh`) or with the history "
            "as exported that night (`nightly refresh`, what `ptdenial score "
            "--history` does). Adjudicated 97112 lines of months 1, 2-3 and 4-6 "
            "after the cut. `auc_best`: ptdenial.datasets' best achievable "
            "probability (the noise integrated out); for bench.worlds the true "
            "log-odds without the line noise and the hidden end of coverage (an "
            "upper bound: the patient's own effect and what happens after "
            "sending are still in it). `ece_floor`: the median ECE of a "
            "perfectly calibrated model on the same lines.\n",
            worlds + "\n",
            markdown_table(rows, [c for c in cols if any(c in r for r in rows)]),
        ]
    )


def run_deployment(worlds) -> None:
    """The deployment table: each world in a subprocess; results files."""
    rows = []
    for world in worlds:
        res = subprocess.run(
            [sys.executable, __file__, "--one", "deployment", "--world", world],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if res.returncode != 0:
            print(world, "failed:", res.stderr.strip().splitlines()[-1:], flush=True)
            continue
        got = json.loads(res.stdout.strip().splitlines()[-1])
        print(world, f"{got[0]['seconds'] if got else '?'} s", flush=True)
        rows += got
    RESULTS.mkdir(exist_ok=True)
    table = _deployment_table(rows)
    (RESULTS / "model-deployment.md").write_text(table)
    (RESULTS / "model-deployment.json").write_text(json.dumps(rows, indent=2))
    model_md = RESULTS / "model.md"
    text = model_md.read_text() if model_md.exists() else "# Model benchmark\n"
    head, _, _ = text.partition(DEPLOYMENT_MARK)
    model_md.write_text(head.rstrip() + "\n\n" + table + _deployment_notes(text))
    print(table)


def _deployment_notes(text: str) -> str:
    """The hand-written reading after the generated deployment table, kept."""
    marker = "<!-- deployment notes -->"
    _, found, notes = text.partition(marker)
    return ("\n" + marker + notes) if found else ""


def run_gap(n_lines: int, seed: int, curve_lines: int) -> None:
    """Why the AUC trails the truth on a bench world: terms and more data.

    The terms are measured without refresh (the done-when condition of
    issue 13), the learning curve with a nightly refresh.
    """
    from _deployment import learning_curve, term_report

    report = term_report(n_lines, seed, refresh=False)
    curve = learning_curve(curve_lines, seed, fractions=(0.25, 1.0))
    text = "\n".join(
        [
            "# Deployment: the AUC gap to the truth, term by term\n",
            machine_note() + "\n",
            f"bench.worlds, {n_lines:,} lines, seed {seed}; trained on the "
            "history exported on 2025-06-30, scored without refresh; "
            f"{report['lines']:,} adjudicated 97112 lines after the cut.\n",
            "## The truth without what no model can see\n",
            markdown_table(report["ceiling"]),
            "## Each term of the world's denial model: truth vs model\n",
            "Mean log-odds of the lines where the term fires minus the others; "
            "`auc_gain`: the model's AUC after its log-odds on those lines are "
            "shifted by what it missed.\n",
            markdown_table(report["terms"]),
            f"## More data from the same world ({curve_lines:,} lines)\n",
            "Models trained on a quarter of the history's patients and on all "
            "of them, scored on the same lines (nightly refresh).\n",
            markdown_table(
                curve,
                [
                    "history_share",
                    "history_lines",
                    "window",
                    "lines",
                    "auc_model",
                    "auc_best",
                    "auc_true",
                    "ece",
                    "ece_floor",
                ],
            ),  # fmt: skip
        ]
    )
    (RESULTS / "model-deployment-gap.md").write_text(text)
    (RESULTS / "model-deployment-gap.json").write_text(
        json.dumps({"report": report, "curve": curve}, indent=2)
    )
    print(text)


def _subprocess(kind: str, n: int, params: dict, seed: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--one",
        kind,
        "--sizes",
        str(n),
        "--seed",
        str(seed),
        "--params",
        json.dumps(params),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return {"error": res.stderr.strip().splitlines()[-1] if res.stderr else "?"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_fit_only(sizes, seed: int, tag: str = "") -> None:
    """Plain fits only, each in its own process; results rewritten after each size.

    A size that fails (out of memory, refused at the limit) is recorded with
    its error and the next size still runs.
    """
    RESULTS.mkdir(exist_ok=True)
    fits = []
    for n in sizes:
        fit = {"size": n, **_subprocess("fit_time", n, {}, seed)}
        print(fit, flush=True)
        fits.append(fit)
        text = [
            "# Plain fit benchmark (bench_model.py --fit-only)\n",
            machine_note() + "\n",
            "`DenialRiskModel().fit` on a make_claims history of about `size` "
            "lines, one process per size; `peak_rss_mib` is the fit's peak "
            "resident memory (high-water mark reset once the history is "
            "generated; `generation_peak_mib` is the generator's own, "
            "`rss_before_fit_mib` where the fit started). `fit_cpu_s` is the "
            "fit's CPU time over all its threads, `load_1min_after` the load "
            "average when it ended: on a shared machine `fit_s` is provisional.\n",
            markdown_table(fits),
        ]
        (RESULTS / f"model-fit{tag}.md").write_text("\n".join(text) + "\n")
        (RESULTS / f"model-fit{tag}.json").write_text(json.dumps(fits, indent=2))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--sizes", type=int, nargs="+", default=[50_000, 200_000, 1_000_000]
    )
    ap.add_argument(
        "--variants",
        action="store_true",
        help="compare learners/calibration/training rows at each size",
    )
    ap.add_argument(
        "--only",
        nargs="+",
        metavar="VARIANT",
        help=f"with --variants, run only these: {', '.join(VARIANTS)}",
    )
    ap.add_argument("--seed", type=int, default=WORLD_SEED)
    ap.add_argument(
        "--deployment",
        nargs="*",
        metavar="WORLD",
        help="the deployment table (issue 13): all worlds of bench/_deployment.py, "
        "or those named",
    )
    ap.add_argument("--world", help=argparse.SUPPRESS)
    ap.add_argument(
        "--gap",
        action="store_true",
        help="the AUC gap to the truth on a bench world, term by term, and with "
        "4x more history (writes model-deployment-gap.md)",
    )
    ap.add_argument(
        "--one", choices=["run_one", "fit_time", "deployment"], help=argparse.SUPPRESS
    )
    ap.add_argument(
        "--fit-only",
        action="store_true",
        help="only the plain fit (time, peak RSS) at each size; writes "
        "model-fit.{md,json} after each size",
    )
    ap.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--tag", default="", help="suffix of the result files")
    args = ap.parse_args(argv)
    if args.one == "run_one":
        print(json.dumps(run_one(args.sizes[0], json.loads(args.params), args.seed)))
        return
    if args.one == "fit_time":
        print(json.dumps(fit_time(args.sizes[0], args.seed)))
        return
    if args.one == "deployment":
        print(json.dumps(deployment_one(args.world)))
        return
    if args.fit_only:
        run_fit_only(args.sizes, args.seed, args.tag)
        return
    if args.gap:
        run_gap(150_000, 1, 300_000)
        return
    if args.deployment is not None:
        from _deployment import WORLDS

        run_deployment(args.deployment or list(WORLDS))
        return
    quality, fits = [], []
    for n in args.sizes:
        variants = VARIANTS if args.variants else {"lgbm (default)": {}}
        if args.only:
            variants = {k: v for k, v in variants.items() if k in args.only}
        for name, params in variants.items():
            row = {
                "size": n,
                "variant": name,
                **_subprocess("run_one", n, params, args.seed),
            }
            print(row, flush=True)
            quality.append(row)
        fit = {"size": n, **_subprocess("fit_time", n, {}, args.seed)}
        print(fit, flush=True)
        fits.append(fit)
    RESULTS.mkdir(exist_ok=True)
    cols = [
        "size",
        "variant",
        "lines",
        "test_97112",
        "auc_model",
        "auc_true_probability",
        "auc_best_achievable",
        "gap_to_best",
        "margin_over_best_baseline",
        "margin_se",
        "gap_to_truth",
        "auc_historical_rate",
        "auc_rules_only",
        "auc_logistic_onehot",
        "ece_model",
        "ece_floor",
        "brier_model",
        "trees",
        "train_eval_s",
        "peak_rss_mib",
    ]
    text = [
        "# Model benchmark\n",
        machine_note() + "\n",
        "Quality on the newest 3 months of a fresh world (97112 lines; trained on the "
        "past only). `auc_true_probability` is the generator's probability with its "
        "random claim and line noise (an oracle no model can reach: the noise leaves "
        "no trace in the data); `auc_best_achievable` integrates that noise out, the "
        "best any model can do from the claim table, and `gap_to_best` is measured "
        "against it. `margin_over_best_baseline` is the model's AUC minus the best "
        "baseline's, `margin_se` its paired bootstrap standard error on the test "
        "lines. `ece_floor` is the median ECE a perfectly calibrated model would "
        "show on the same lines (outcomes drawn from the model's own scores): "
        "sampling noise alone. `train_eval_s` includes the hold-out model, the "
        "refreshed history features and the three baselines.\n",
        markdown_table(quality, [c for c in cols if any(c in r for r in quality)]),
        "\n## Plain fit (what `ptdenial train` refits on all history)\n",
        markdown_table(fits),
    ]
    old = RESULTS / f"model{args.tag}.md"
    kept = ""
    if old.exists() and DEPLOYMENT_MARK in old.read_text():
        kept = DEPLOYMENT_MARK + old.read_text().partition(DEPLOYMENT_MARK)[2]
    (RESULTS / f"model{args.tag}.md").write_text("\n".join(text) + "\n" + kept)
    (RESULTS / f"model{args.tag}.json").write_text(
        json.dumps({"quality": quality, "fit": fits}, indent=2)
    )
    print((RESULTS / f"model{args.tag}.md").read_text())


if __name__ == "__main__":
    main()
