r"""Bilevel learning of TV (MAID against HOAG), and the learned θ against a test-set grid.

The TV experiment of Salehi, Mukherjee, Roberts and Ehrhardt (MAID): learn θ in
:math:`\tfrac12\|x - y\|^2 + \tfrac12 e^{\theta_0} \sum \sqrt{|\nabla x|^2 + e^{2\theta_1}}` from θ = (−5, −5)
on 6 training photographs (``bilevel-tv``: coins, moon, page, clock, rocket, brick; 96², σ = 0.1),
test on camera, astronaut, coffee. Each run gets the same budget of lower-level iterations (FISTA
gradients + CG iterations, counted together):

* MAID with the paper's constants (ρ = 0.5, η = 10⁻⁴, step growth 1.05; ε₀ = δ₀ = 0.1, first step 0.01);
* HOAG (Pedregosa) with ε_k = δ_k = 0.1·k⁻², warm starts, and each of four fixed steps (0.01, 0.03,
  0.06, 0.1; 1/L ≈ 0.04 lies inside the range), at most 2000 outer iterations;
* MAID on the weighted-TV model (``bilevel-weighted-tv``).

The loss compared is the upper-level loss at each iterate with the lower level solved to 10⁻⁶ (not
counted). Then the mean test PSNR over a grid of (θ₀, θ₁) against the learned θ's, and the learned θ's
``recon run`` config on the test pairs. The quick table: one training and one test photograph, a budget
of 300 iterations, two HOAG steps and a 2 × 1 grid.

>>> sorted(cells(True, {}))[:2]
['HOAG step 0.01', 'HOAG step 0.06']
"""

from __future__ import annotations

from recon.reproduce.report import Claim, Report, signed

HOAG_STEPS = (0.01, 0.03, 0.06, 0.1)
BUDGETS = (500, 1000, 2000, 5000, 10000, 20000, 30000)
GRID_THETA0 = [-3.0 + 0.25 * k for k in range(11)]          # -3 ... -0.5
GRID_THETA1 = [-8.0, -7.0, -6.0, -5.0, -4.0, -3.0]
GRID_BAR_DB = 0.2               # the bar: the learned θ within 0.2 dB of the grid's best
RECON_RUN_BAR_DB = 0.05         # recon run with the learned strength within this of the model's PSNR
QUICK = ["problem.train_images=coins", "problem.test_images=camera", "method.budget=300"]
QUICK_HOAG_STEPS = (0.01, 0.06)


def extra(quick: bool) -> list[str]:
    return list(QUICK) if quick else []


def budgets(quick: bool) -> tuple:
    return (100, 200, 300) if quick else BUDGETS


def hoag_steps(quick: bool) -> tuple:
    return QUICK_HOAG_STEPS if quick else HOAG_STEPS


def grid(quick: bool) -> tuple[list, list]:
    return ([-2.5, -2.0], [-6.0]) if quick else (GRID_THETA0, GRID_THETA1)


def run_cell(config_name: str, overrides: list[str]) -> dict:
    """One learning run: θ, the learned model, its PSNRs and the loss history (or why it diverged)."""
    import time

    from recon.training.hyperparameter_config import load_hyperparameter_config
    from recon.training.hyperparameter_training import learn_hyperparameters

    config = load_hyperparameter_config(config_name, overrides)
    started = time.perf_counter()
    try:
        record = learn_hyperparameters(config, device="cpu")
    except ValueError as error:             # a fixed step too long diverges: that is a result too
        return {"diverged": str(error), "seconds": time.perf_counter() - started}
    keep = ("theta", "learned", "lower_iterations", "cg_iterations", "train_psnr_db", "test_psnr_db",
            "noisy_test_psnr_db", "recon_run_test_psnr_db", "seconds")
    return {**{key: record.get(key) for key in keep},
            "history": [{k: row[k] for k in ("total_iterations", "exact_loss") if k in row}
                        for row in record["history"]]}


def grid_row_cell(overrides: list[str], theta0: float, theta1s: list[float]) -> list[float]:
    """The mean test PSNR of the TV model at (θ₀, θ₁) for each θ₁."""
    from recon.training.hyperparameter_config import load_hyperparameter_config
    from recon.training.hyperparameter_training import model_psnr, test_pairs

    config = load_hyperparameter_config("bilevel-tv", overrides)
    clean, noisy = test_pairs(config)
    return [model_psnr(config, [theta0, theta1], clean, noisy) for theta1 in theta1s]


def cells(quick: bool, done: dict) -> dict:
    overrides = extra(quick)
    found = {"MAID": (run_cell, ("bilevel-tv", overrides), {})}
    if not quick:
        found["MAID weighted TV"] = (run_cell, ("bilevel-weighted-tv", overrides), {})
    for step in hoag_steps(quick):
        found[f"HOAG step {step:g}"] = (run_cell, ("bilevel-tv", [*overrides, "method.kind=hoag", f"method.step={step}",
                                                                  "method.max_iterations=2000"]), {})
    theta0s, theta1s = grid(quick)
    for theta0 in theta0s:
        found[f"grid θ0={theta0:g}"] = (grid_row_cell, (overrides, theta0, theta1s), {})
    return found


def loss_at_budget(history: list[dict], budget: int) -> float:
    """The exact loss of the last iterate whose lower-level + CG count is within ``budget``."""
    rows = [row for row in history if row["total_iterations"] <= budget]
    return (rows[-1] if rows else history[0])["exact_loss"]


def runs(values: dict) -> dict:
    return {label: values[label] for label in ("MAID", *(f"HOAG step {s:g}" for s in HOAG_STEPS))
            if label in values}


def report(quick: bool, values: dict) -> Report:
    found = runs(values)
    rows = []
    for budget in budgets(quick):
        row = {"lower-level iterations": budget}
        for label, record in found.items():
            row[label] = loss_at_budget(record["history"], budget) if "history" in record else None
        hoags = [v for k, v in row.items() if k.startswith("HOAG") and v is not None]
        row["MAID lowest"] = row["MAID"] < min(hoags)
        rows.append(row)
    claims = []
    for step in hoag_steps(quick):
        label = f"HOAG step {step:g}"
        below = [r["lower-level iterations"] for r in rows if r[label] is None or r["MAID"] < r[label]]
        claims.append(Claim(f"MAID reaches a lower upper-level loss than {label} at every budget",
                            f"below at {len(below)} of {len(rows)} budgets"
                            + (f" ({', '.join(map(str, below))})" if 0 < len(below) < len(rows) else ""), "",
                            len(below) == len(rows)))
    theta0s, theta1s = grid(quick)
    cells_ = [(t0, t1, psnr) for t0 in theta0s for t1, psnr in zip(theta1s, values[f"grid θ0={t0:g}"])]
    best = max(cells_, key=lambda c: c[2])
    maid = values["MAID"]
    gap = maid["test_psnr_db"] - best[2]
    claims.append(Claim(f"the learned θ is within {GRID_BAR_DB} dB of the best θ of a grid on the test set",
                        f"{maid['test_psnr_db']:.3f} against {best[2]:.3f} dB at θ = ({best[0]:g}, {best[1]:g}) "
                        f"({signed(gap, digits=3)})", "", gap >= -GRID_BAR_DB))
    run_gap = maid["recon_run_test_psnr_db"] - maid["test_psnr_db"]
    claims.append(Claim("`recon run` with the learned strength gives the model's PSNR",
                        f"{maid['recon_run_test_psnr_db']:.3f} against {maid['test_psnr_db']:.3f} dB", "",
                        abs(run_gap) <= RECON_RUN_BAR_DB))
    weighted = values.get("MAID weighted TV", {})
    notes = [f"MAID's learned θ = ({maid['theta'][0]:.4f}, {maid['theta'][1]:.4f}): strength "
             f"{maid['learned']['strength']:.4g}, smoothing {maid['learned']['smoothing']:.4g}; test PSNR "
             f"{maid['test_psnr_db']:.3f} dB (noisy {maid['noisy_test_psnr_db']:.2f})."]
    if "test_psnr_db" in weighted:
        notes.append(f"Weighted TV learned by MAID: test PSNR {weighted['test_psnr_db']:.3f} dB.")
    notes.append("recon's TV is the e^θ₁ → 0 limit of the smoothed TV, so the two PSNRs differ by the smoothing.")
    return Report(
        title="Bilevel learning of TV: MAID against HOAG, and the learned θ against a grid",
        source="Salehi, Mukherjee, Roberts and Ehrhardt, an adaptively inexact first-order method for bilevel "
               "optimization (MAID); Pedregosa, hyperparameter optimization with approximate gradient (HOAG), "
               "ICML 2016",
        setup=("1 training photograph (coins), test on camera, a budget of 300 lower-level iterations, HOAG steps "
               "0.01 and 0.06"
               if quick else
               "6 training photographs (coins, moon, page, clock, rocket, brick; 96², σ = 0.1), test on camera, "
               "astronaut, coffee; a budget of 30 000 lower-level + CG iterations per method") +
              "; θ from (−5, −5). The numbers are the upper-level loss ½ mean ‖x̂(θ) − x†‖² at the last iterate "
              "within each budget, the lower level solved to 10⁻⁶ for it (uncounted).",
        columns=list(rows[0]), rows=rows, claims=claims, notes=notes, digits=4)


def figure(quick: bool, values: dict, report: Report):
    from recon.reproduce.charts import panels

    figure, (whole, tail) = panels(2, width=5.5, height=4.0)
    found = runs(values)
    lowest = min(row["exact_loss"] for record in found.values() for row in record.get("history", []))
    for label, record in found.items():
        if "history" not in record:
            continue
        counts = [row["total_iterations"] for row in record["history"]]
        losses = [row["exact_loss"] for row in record["history"]]
        style = {"linewidth": 2.2, "color": "black"} if label == "MAID" else {"linewidth": 1.2}
        for axis in (whole, tail):
            axis.plot(counts, losses, label=label, **style)
    whole.set_yscale("log")
    whole.set_xscale("log")
    whole.set_title("upper-level loss from θ = (−5, −5)", fontsize=10)
    tail.set_ylim(lowest * 0.999, lowest * 1.02)
    tail.set_title("the same, near the minimum", fontsize=10)
    for axis in (whole, tail):
        axis.set_xlabel("lower-level iterations (FISTA gradients + CG)")
        axis.set_ylabel("½ mean ‖x̂(θ) − x†‖²")
        axis.legend(fontsize=8)
    return figure
