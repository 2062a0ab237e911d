"""Copy trained models into recon/weights and list them in its manifest (sha256 rechecked).

    python scripts/ship_weights.py runs/drunet-small-general runs/drunet-small-phantom

Each folder is what ``recon train denoiser CONFIG --output-dir FOLDER`` wrote: NAME.safetensors,
its manifest entry NAME.json and its curve NAME-training.png (copied to docs/). An entry of the
same name in the manifest is replaced.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recon.weights.registry import MANIFEST, WEIGHTS_DIR, sha256_of  # noqa: E402


def ship(folder: Path) -> dict:
    entries = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    if len(entries) != 1:
        raise SystemExit(f"{folder}: expected one NAME.json manifest entry, found {len(entries)}")
    entry = entries[0]
    source = folder / entry["file"]
    if sha256_of(source) != entry["sha256"]:
        raise SystemExit(f"{source}: sha256 does not match {folder / (entry['name'] + '.json')}")
    shutil.copyfile(source, WEIGHTS_DIR / entry["file"])
    curve = folder / f"{entry['name']}-training.png"
    if curve.exists():
        shutil.copyfile(curve, ROOT / "docs" / curve.name)
    return entry


def main(folders: list[str]) -> int:
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"models": []}
    for folder in folders:
        entry = ship(Path(folder))
        manifest["models"] = [m for m in manifest["models"] if m["name"] != entry["name"]] + [entry]
        print(f"shipped {entry['name']} ({entry['sha256'][:12]}...)")
    manifest["models"].sort(key=lambda m: m["name"])
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
