"""python -m sandbox demo | serve (see the README (section "The sandbox"))."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="The system, deployed offline.")
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"), help="synthesized app (default: cdk.out)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="deploy into the sandbox and run orders down every path")
    serve = commands.add_parser("serve", help="the sandbox as a local AWS endpoint for the CLI and boto3")
    serve.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default: %(default)s)")
    serve.add_argument("--no-seed", action="store_true", help="do not load the example catalog")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from sandbox.demo import main as demo

        return demo(args.cdk_out)
    from sandbox.serve import main as serve_main

    return serve_main(args.cdk_out, args.port, seed=not args.no_seed)


if __name__ == "__main__":
    sys.exit(main())
