"""Command line: `python -m rest_shaper_client check VECTORS.json --endpoint E` and `ping`/`stats`."""
import argparse
import json
import sys

from . import check
from .client import Client


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m rest_shaper_client")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="send a golden vectors file through the sidecar; prints 'N passed, M failed'")
    c.add_argument("vectors")
    c.add_argument("--endpoint", default=None, help="sidecar endpoint (default $REST_SHAPER_ENDPOINT or ipc:///tmp/rest-shaper.sock)")
    c.add_argument("--batch-size", type=int, default=32)
    c.add_argument("--pad", action="store_true", help="pad cases of different lengths into shared batches")
    c.add_argument("--profile", default="released")
    c.add_argument("--multi-turn", action="store_true",
                   help="check multi-turn rows built from the cases (turn by turn against the cases sent alone)")
    c.add_argument("-v", "--verbose", action="store_true")
    for name in ("ping", "stats"):
        s = sub.add_parser(name)
        s.add_argument("--endpoint", default=None)
    a = p.parse_args(argv)
    if a.cmd == "check" and a.multi_turn:
        _, failed = check.run_multi_turn(a.vectors, a.endpoint, verbose=a.verbose)
        return 1 if failed else 0
    if a.cmd == "check":
        _, failed = check.run(a.vectors, a.endpoint, batch_size=a.batch_size, pad=a.pad, profile=a.profile, verbose=a.verbose)
        return 1 if failed else 0
    with Client(a.endpoint) as client:
        header = client.ping() if a.cmd == "ping" else client.stats()
    if a.cmd == "stats" and "prometheus" in header:
        sys.stdout.write(header["prometheus"])
    else:
        print(json.dumps(header, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
