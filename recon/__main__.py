"""``python -m recon`` is the ``recon`` command (``torchrun -m recon train unrolled CONFIG`` needs a module)."""

from recon.cli import main

raise SystemExit(main())
