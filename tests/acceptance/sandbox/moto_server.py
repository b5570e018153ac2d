"""Starts moto's server with our patches applied.

moto 5.2.5 differs from real AWS in ways that matter to this provider (see
shared testbed notes: CloudFront read-back, IAM client-ID calls, ...). The
provider is written against AWS's documented behaviour; each module in
moto_patches/ makes moto behave like AWS in one such respect and says which.
Usage is the same as moto_server: moto_server.py -H 127.0.0.1 -p PORT
"""
import importlib
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def apply_patches():
    for path in sorted((pathlib.Path(__file__).resolve().parent / "moto_patches").glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = importlib.import_module(f"moto_patches.{path.stem}")
        module.apply()


if __name__ == "__main__":
    apply_patches()
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
