#!/usr/bin/env python3
"""Runs the shell commands of README.md's "Try it in 30 seconds", as written, from the
repository's root, against the emulator at URL (the README's http://127.0.0.1:8787 replaced by
it; the README's own `altogic-emulator &` line is left out: the caller started one).

    scripts/readme-commands.py URL

Each ```sh block runs in bash with -e; a file a command writes into the repository's root
(the C example's ./run_task) is removed afterwards. Exits non-zero, naming the block, when one
fails.
"""

import pathlib
import re
import subprocess
import sys

README_URL = "http://127.0.0.1:8787"
SECTION = "## Try it in 30 seconds"


def blocks(readme: str) -> list:
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start : end if end != -1 else len(readme)]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def main() -> int:
    url = sys.argv[1]
    root = pathlib.Path(__file__).resolve().parent.parent
    before = {path.name for path in root.iterdir()}
    found = blocks((root / "README.md").read_text())
    if len(found) < 4:
        print(f"readme-commands: only {len(found)} sh blocks in {SECTION!r}", file=sys.stderr)
        return 1
    try:
        for number, block in enumerate(found, 1):
            lines = [line for line in block.splitlines() if not re.match(r"\s*target/release/altogic-emulator\s*&", line)]
            script = "\n".join(lines).replace(README_URL, url)
            if not script.strip():
                continue
            print(f"== README block {number}:\n{script}", flush=True)
            done = subprocess.run(["bash", "-e", "-c", script], cwd=root, timeout=600)
            if done.returncode != 0:
                print(f"readme-commands: block {number} exited {done.returncode}", file=sys.stderr)
                return 1
    finally:
        for path in root.iterdir():
            if path.name not in before and path.is_file():
                path.unlink()
    print(f"readme-commands: {len(found)} blocks ran as written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
