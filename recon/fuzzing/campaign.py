"""A fuzzing campaign: damaged copies of the seed files through ``recon info`` and ``recon run``, tallied.

Case ``i`` takes seed ``i mod S`` and damage kind ``(i div S) mod 4`` with the
random seed ``base + i``, so any case is replayed from the campaign's seed and
its number. Each damaged file goes through ``recon info FILE`` and, when its
seed has one, the cheap experiment that reads it (two cases per file).
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from recon.fuzzing.harness import OUTCOMES, CaseRunner
from recon.fuzzing.mutations import KINDS, mutate


@dataclass
class Finding:
    """A case that broke the promise (not ``ok`` nor ``refused``): enough to replay it."""

    number: int
    reader: str
    kind: str
    command: list
    outcome: str
    stderr: str


@dataclass
class CampaignReport:
    """Counts by reader, damage kind and outcome, and the findings."""

    counts: Counter = field(default_factory=Counter)
    findings: list = field(default_factory=list)
    cases: int = 0
    slowest_seconds: float = 0.0

    def table(self) -> dict:
        """``{reader: {kind: {outcome: n}}}``."""
        nested: dict = {}
        for (reader, kind, outcome), n in sorted(self.counts.items()):
            nested.setdefault(reader, {}).setdefault(kind, {})[outcome] = n
        return nested

    def totals(self) -> dict:
        totals = Counter()
        for (_, _, outcome), n in self.counts.items():
            totals[outcome] += n
        return {outcome: totals[outcome] for outcome in OUTCOMES}


def damaged_copy(seed, kind: str, number: int, random_seed: int, folder: Path) -> Path:
    """Write the damaged copy of ``seed`` for case ``number`` into ``folder``; return the path to read."""
    target = folder / f"case{number:05d}{seed.path.suffix}"
    if seed.companion is None:
        target.write_bytes(mutate(seed.path.read_bytes(), kind, random_seed))
        return target
    # A pair (BART .cfl/.hdr): damage one of the two, chosen by the seed's parity; the other is copied.
    pair = (seed.path, seed.companion)
    damaged = pair[random_seed % 2]
    for member in pair:
        copy = target.with_suffix(member.suffix)
        if member == damaged:
            copy.write_bytes(mutate(member.read_bytes(), kind, random_seed))
        else:
            shutil.copyfile(member, copy)
    return target


def run_campaign(seeds: list, files: int, *, base_seed: int = 0, folder, timeout: float = 10.0,
                 progress=None) -> CampaignReport:
    """Damage ``files`` copies of the seeds and run every command on each; return the tally.

    :param progress: called with the report after every file (a progress bar), or ``None``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    report = CampaignReport()
    with CaseRunner(timeout=timeout) as runner:
        for number in range(files):
            seed = seeds[number % len(seeds)]
            kind = KINDS[(number // len(seeds)) % len(KINDS)]
            path = damaged_copy(seed, kind, number, base_seed + number, folder)
            commands = [["info", str(path)]]
            if seed.experiment is not None:
                output = folder / f"case{number:05d}_out.h5"
                commands.append(["run", seed.experiment, "--input", str(path), "--output", str(output), "--quiet",
                                 "--overwrite", *(a for s in seed.settings for a in ("--set", s))])
            for command in commands:
                result = runner.run(command)
                report.cases += 1
                report.slowest_seconds = max(report.slowest_seconds, result.seconds)
                report.counts[(seed.reader, kind, result.outcome)] += 1
                if result.outcome not in ("ok", "refused"):
                    report.findings.append(Finding(number, seed.reader, kind, command, result.outcome,
                                                   result.stderr[-1500:]))
            for leftover in folder.glob(f"case{number:05d}*"):
                leftover.unlink()
            if progress is not None:
                progress(report)
    return report
