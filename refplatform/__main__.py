"""``python -m refplatform --port 8700``: the reference platform on its own."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from refplatform import ReferencePlatform


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="refplatform", description="reference procurement platform (loopback)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--app-key", default="demo-app")
    parser.add_argument("--secret-env", default="REFPLATFORM_SECRET", help="environment variable holding the app secret")
    parser.add_argument("--rate", type=float, default=None, help="requests per second before HTTP 429")
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--soap-preset", default="dispatcher", choices=("dispatcher", "mainservice"),
                        help="the Shanghai WSDL shape the SOAP doors speak")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    args = parser.parse_args(argv)
    secret = os.environ.get(args.secret_env, "demo-secret")
    ref = ReferencePlatform(args.host, args.port, apps={args.app_key: secret}, rate_per_s=args.rate, burst=args.burst,
                            certfile=args.certfile, keyfile=args.keyfile, soap_preset=args.soap_preset)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"reference platform on {ref.url} (OpenAPI at {ref.url}/openapi.json)", flush=True)
    try:
        ref.server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        ref.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
