#!/usr/bin/env python3
"""Deploy a samconfig environment with extra parameters, keeping every parameter samconfig.toml sets for it.

    scripts/deploy.py prod WorkerImageUri=<repo>:<tag>            # prod's samconfig values + the image
    scripts/deploy.py prod WorkerImageUri=<repo>:<tag> --dry-run  # print the sam command, run nothing

`sam deploy --config-env prod --parameter-overrides "A=1"` does NOT add A to samconfig's parameter_overrides for
prod: it replaces them (aws-sam-cli issue 2380), so every other parameter silently falls back to the template's
default (prod would get dev's database size, one AZ, the default sender...). This script reads the environment's
parameter_overrides from samconfig.toml, lets the KEY=VALUE arguments replace or add single parameters (a key the
template does not declare is refused: a typo would otherwise be ignored), and runs
`scripts/sam.sh deploy --config-env ENV --parameter-overrides <all of them>`. Any other sam deploy option can
follow `--`.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def samconfig_overrides(env: str, config: Path = ROOT / "samconfig.toml") -> dict[str, str]:
    """The parameter_overrides samconfig.toml gives `sam deploy --config-env env`, as a dict (in order)."""
    data = tomllib.loads(config.read_text())
    if env not in data:
        raise SystemExit(f"deploy: samconfig.toml has no environment {env!r} (it has {', '.join(data)})")
    text = data[env].get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    return parse_overrides(text if isinstance(text, str) else " ".join(text))


def parse_overrides(text: str) -> dict[str, str]:
    """'A=1 B="two words"' (SAM's form) as {'A': '1', 'B': 'two words'}."""
    pairs = {}
    for item in shlex.split(text):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"not KEY=VALUE: {item!r}")
        pairs[key] = value
    return pairs


def template_parameters(template: Path = ROOT / "infra" / "template.yaml") -> set[str]:
    """The parameter names the template declares (read without a YAML library: the deploy host may lack one)."""
    names, inside = set(), False
    for line in template.read_text().splitlines():
        if re.match(r"^\S", line):
            inside = line.startswith("Parameters:")
        elif inside and (m := re.match(r"^  ([A-Za-z0-9]+):\s*$", line)):
            names.add(m[1])
    return names


def overrides_argument(pairs: dict[str, str]) -> str:
    """SAM's --parameter-overrides value: KEY=VALUE separated by spaces, values with spaces double-quoted."""
    return " ".join(f"{key}={_quoted(value)}" for key, value in pairs.items())


def _quoted(value: str) -> str:
    if not value or re.search(r"[\s\"']", value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def main(argv: list[str] | None = None) -> int:
    """Merge samconfig's parameters with the given ones and run sam deploy (or print it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("env", help="the samconfig.toml environment: dev or prod (also the stack it deploys)")
    parser.add_argument("parameters", nargs="*", metavar="KEY=VALUE",
                        help="template parameters to set on top of the environment's samconfig values")
    parser.add_argument("--dry-run", action="store_true", help="print the sam command instead of running it")
    argv = sys.argv[1:] if argv is None else argv
    # Everything after "--" goes to sam deploy as it is.
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    merged = samconfig_overrides(args.env)
    given = parse_overrides(" ".join(shlex.quote(p) for p in args.parameters))
    unknown = sorted(set(given) - template_parameters())
    if unknown:
        raise SystemExit(f"deploy: the template declares no parameter {', '.join(unknown)}")
    merged.update(given)
    sam = os.environ.get("SAM", str(ROOT / "scripts" / "sam.sh"))
    command = [sam, "deploy", "--config-env", args.env, "--parameter-overrides", overrides_argument(merged), *extra]
    sys.stdout.write(shlex.join(command) + "\n")
    if args.dry_run:
        return 0
    return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
