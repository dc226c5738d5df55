"""Attendance settings (settings.ATTENDANCE; ATTENDANCE_<NAME> in the environment), with their defaults."""

from typing import Any

from core.conf import AppSettings

DEFAULTS: dict[str, Any] = {
    "DIRECTION_MODE": "alternate",  # "alternate": in, then out, then in…; "buttons": the employee taps In or Out
    "DEBOUNCE_SECONDS": 120,  # the same employee is not recorded twice within this window
    "CONFIRM_FRAMES": 2,  # consecutive frames that must agree before someone is clocked
    "CONFIRM_WINDOW_SECONDS": 4,  # ...each within this long of the previous one
    # ...and each a new capture: a face's fine detail must differ from the previous frame's by at least this
    # (mean grey levels; measured by bench/kiosk_frames.py: re-sent or re-encoded frames below, captures above)
    "SAME_CAPTURE_DIFFERENCE": 0.3,
    "MAX_SHIFT_HOURS": 16,  # an in with no out for this long is a missing check-out
    # An event HR dates after now needs confirming, and may be at most this far ahead (a shift's planned end
    # today, a clock set in another time zone; further is a typo). Kiosks ignore events after now.
    "FUTURE_EVENT_MAX_HOURS": 24,
    "KEEP_SNAPSHOTS": False,  # keep the frame that clocked someone (off: no photo is kept)
    "SNAPSHOT_DAYS": 7,  # ...for this many days
    # A kiosk's default: "off", or "challenge" (turn the head and blink as asked). Off until the challenge meets
    # its goals on bench/liveness.py (docs/attendance.md, Liveness: today BPCER 17.5 %, cylinder APCER 15 %).
    "LIVENESS": "off",
    "LIVENESS_FAILURE": "refuse",  # ...and when it fails: "refuse", or "flag" (clock and flag for review)
    "CHALLENGE_STEPS": 2,  # steps in a challenge (2 or 3), in a random order each attempt
    "CHALLENGE_STEP_SECONDS": 1.5,  # the kiosk shows each step this long (and faces the camera 0.6 s before and after)
    "CHALLENGE_SECONDS": 12,  # a challenge must be answered within this long of being issued
    "PIN_ATTEMPTS": 5,  # wrong PINs in a row, per employee and per kiosk, before a lockout
    "PIN_LOCKOUT_MINUTES": 15,  # ...that lasts this long
    "REVIEW_CONFIDENCE": 0.9,  # a face clocking below this confidence is flagged for review
    "REVIEW_NON_BIOMETRIC": True,  # flag PIN and badge clockings for review
    "REVIEW_TRAVEL_MINUTES": 30,  # flag an employee clocked at kiosks of two locations within this long
    "REVIEW_FRAME_DAYS": 7,  # a flagged event's frames are kept this long for the review
    # Self-improving templates: a confident, undoubted face clocking's frame may become one more template of the
    # employee (a background job; docs/attendance.md, Learned templates). Guards in entries.services.photo_learn.
    "LEARN_TEMPLATES": True,
    "LEARN_CONFIDENCE": 0.995,  # ...from a clocking at least this confident (calibrated)
    "LEARN_REQUIRE_LIVENESS": False,  # ...and only from a passed liveness challenge
    "LEARN_MAX_TEMPLATES": 3,  # kiosk templates per employee; a new one replaces the oldest (HR's photos stay)
    "LEARN_EVERY_HOURS": 24,  # at most one new template per employee this often
    # the frame must match the HR enrolment photo as strictly as identify would with this many photos enrolled
    "LEARN_ANCHOR_GALLERY": 1000,
    "LEARN_NEAR_DUPLICATE": 0.97,  # a frame this similar to one of the employee's photos adds nothing (skipped)
}
app_settings: AppSettings = AppSettings("ATTENDANCE", DEFAULTS)
get = app_settings.get
