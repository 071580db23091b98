from __future__ import annotations

from harscrub.cli import main

main(prog_name="harscrub")
