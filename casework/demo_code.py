"""Print the current TOTP code for a base32 key: `python -m casework.demo_code KEY`.

For the demo only (README, "Two-factor sign-in"): a newcomer without an authenticator app can still
sign in as a demo user. Real staff use an app on their phone.
"""

import base64
import sys

from django_otp.oath import TOTP


def code(key_b32: str) -> str:
    key = base64.b32decode(key_b32 + "=" * (-len(key_b32) % 8))
    return f"{TOTP(key, step=30, t0=0, digits=6).token():06d}"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(code(sys.argv[1]))
