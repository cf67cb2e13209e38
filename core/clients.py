"""Which client an unauthenticated attempt comes from (sign-in, public order lookup).

The backoff of failed attempts is kept per client, so the key must survive a page reload
(a fresh Streamlit session) yet never let one client's failures slow down another:

* a browser connected directly: its IP address (Streamlit's ``st.context.ip_address``);
* a connection from this machine (Streamlit reports ``None`` for 127.0.0.1 and ::1), which is
  a local reverse proxy or a browser on the server itself: the address the proxy put in
  ``X-Forwarded-For`` (its last entry: the one the proxy appended, not one a client forged in
  front of it) or ``X-Real-IP``;
* nothing known (a local browser without a proxy, tests): the Streamlit session id.

Headers of direct connections are ignored: any browser can send them.
"""

from __future__ import annotations

MAX_KEY = 64


def client_key(remote_ip: str | None, forwarded_for: str | None, real_ip: str | None, session_id: str) -> str:
    """The key failures are counted under (at most 64 characters)."""
    if remote_ip:
        key = f"ip:{remote_ip}"
    elif forwarded_for and forwarded_for.split(",")[-1].strip():
        key = f"ip:{forwarded_for.split(',')[-1].strip()}"
    elif real_ip and real_ip.strip():
        key = f"ip:{real_ip.strip()}"
    else:
        key = f"session:{session_id}"
    return key[:MAX_KEY]
