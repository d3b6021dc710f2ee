"""The container health check: `python -m annotator.healthcheck [port]` exits 0 when the
web tier on this host answers /healthz with 200, else 1 with the reason.

It speaks to daphne directly, so it names an allowed host and says the request came over
https (as the proxy would); otherwise host validation or the https redirect would answer
instead of the app.
"""

import os
import sys
import urllib.error
import urllib.request


def main(port: int) -> int:
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = next((h.lstrip(".") for h in hosts if h != "*"), "localhost")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz",
        headers={"Host": host, "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            print(response.read().decode())
            return 0
    except urllib.error.HTTPError as error:
        print(f"{error.code}: {error.read().decode()[:500]}")
    except OSError as error:
        print(f"no answer: {error}")
    return 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000))
