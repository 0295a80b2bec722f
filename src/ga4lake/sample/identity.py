"""Who a visitor is beyond the browser cookie: the site login (``user_id``) and the data stream used.

The public sample never has a ``user_id`` and has one web stream; a real property usually has both,
and the lake's opt-in user stitching and its stream-aware keys (``client_key`` = md5 of
``user_pseudo_id`` ‖ ``stream_id``) have nothing to work on without them. So, per new user:

* **Login.** Some users hold an account (returning users far more often); an account holder is
  logged in from one of their sessions on (usually the first) and from then on every event of theirs
  carries the same ``user_id``. A share of account holders are the *second device* of another account
  holder of the same day's cohort: a different ``user_pseudo_id`` with the same ``user_id``, which is
  exactly what stitching joins.
* **Stream.** A share of the mobile iOS/Android users visit through the shop's app stream
  (``APP_STREAM_ID``, platform ``IOS``/``ANDROID``, ``app_info`` filled) instead of the web stream.

Everything is drawn from its own random stream keyed by (seed, cohort date), so it adds columns to a
day without moving any figure the other streams draw (docs/sample.md#configuration-points).
"""

from __future__ import annotations

import numpy as np

from . import catalog as cat

P_ACCOUNT = (0.10, 0.35)  # share of users with an account: one-session users, returning users
P_LOGIN_FIRST = 0.60  # an account holder logs in during their first session, else from a later one
P_SECOND_DEVICE = 0.15  # share of account holders that are another holder's second device
P_APP = 0.12  # share of mobile iOS/Android users who use the app stream
UID_MODULUS = 1_000_000_000_000  # user ids: scrambled (cohort day, person) into 12 digits
_UID_MULT = 2_654_435_761  # odd and not a multiple of 5: a bijection modulo 10**12

# a user's stream (the app's platform follows the device's OS: APP_OS_BY_PROFILE)
STREAM_WEB, STREAM_APP = 0, 1


def _app_eligible_profiles() -> np.ndarray:
    """Per device profile: 1 = iOS phone, 2 = Android phone, 0 = cannot be an app user."""
    kinds = np.array(
        [
            (1 if p[3] == "iOS" else 2 if p[3] == "Android" else 0) if p[0] == "mobile" else 0
            for p in cat.DEVICE_PROFILES
        ],
        dtype=np.int8,
    )
    kinds.flags.writeable = False
    return kinds


#: per device profile (index into ``catalog.DEVICE_PROFILES``): 1 iOS phone, 2 Android phone, 0 no app;
#: computed once, read for every cohort day
APP_OS_BY_PROFILE = _app_eligible_profiles()


def user_id_number(day: int, person: np.ndarray) -> np.ndarray:
    """The numeric login id of ``person`` (index in its cohort) of cohort day ``day``: unique per
    (day, person) for fewer than a million persons a day, and not guessable from the pseudo id."""
    x = np.int64(day) * 1_000_000 + person.astype(np.int64)
    return (x % UID_MODULUS) * _UID_MULT % UID_MODULUS


def draw_identity(
    rng: np.random.Generator, day: int, returning: np.ndarray, device: np.ndarray
) -> dict[str, np.ndarray]:
    """Per user of a cohort: ``u_uid`` (login id number, -1 = no account), ``u_login`` (session number
    from which they are logged in, 0 = never) and ``u_stream`` (``STREAM_WEB`` / ``STREAM_APP``).

    ``returning``: the user has more sessions than the first; ``device``: index into
    ``catalog.DEVICE_PROFILES``."""
    n = returning.size
    account = rng.random(n) < np.where(returning, P_ACCOUNT[1], P_ACCOUNT[0])
    login = np.where(rng.random(n) < P_LOGIN_FIRST, 1, 1 + rng.geometric(0.5, n)).astype(np.int32)
    person = np.arange(n, dtype=np.int64)
    holders = np.flatnonzero(account)
    second = holders[rng.random(holders.size) < P_SECOND_DEVICE]
    primary = np.setdiff1d(holders, second)
    if second.size and primary.size:
        person[second] = primary[rng.integers(0, primary.size, second.size)]
    uid = np.where(account, user_id_number(day, person), -1)
    app = (APP_OS_BY_PROFILE[device] > 0) & (rng.random(n) < P_APP)
    return {
        "u_uid": uid.astype(np.int64),
        "u_login": np.where(account, login, 0).astype(np.int32),
        "u_stream": np.where(app, STREAM_APP, STREAM_WEB).astype(np.int8),
    }
