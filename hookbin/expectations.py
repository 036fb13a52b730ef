"""The report's checks for CI: which of a user's expectations of the senders a report breaks (pure).

`hookbin report --expect-…` prints each violation as one line and exits 1.
"""

from __future__ import annotations

from hookbin.report import Report
from hookbin.report_text import seconds_text
from hookbin.textsafe import safe


def check(
    report: Report,
    expect_max_attempts: int | None = None,
    expect_min_attempts: int | None = None,
    expect_honours_retry_after: bool = False,
    expect_stops_after_success: bool = False,
) -> list[str]:
    """Violations of the expectations, one line each (empty when all hold).

    Args:
        expect_max_attempts: no delivery may take more attempts than this.
        expect_min_attempts: a delivery never accepted must have been tried at least this
            often (one accepted earlier had no reason to be tried again).
        expect_honours_retry_after: every retry after a Retry-After waited that long
            (0.5 s tolerance), and at least one such retry was seen (by any sender).
        expect_stops_after_success: no delivery was tried again after a 2xx, and at least
            one delivery (of any sender) was answered 2xx.
    """
    wanted = (
        expect_max_attempts is not None
        or expect_min_attempts is not None
        or expect_honours_retry_after
        or expect_stops_after_success
    )
    if not report.senders:
        return ["no deliveries were captured, so no expectation can be checked"] if wanted else []
    violations: list[str] = []
    for sender in report.senders:
        name = safe(sender.sender, limit=80)
        if expect_max_attempts is not None:
            over = [row for row in sender.rows if row.attempts > expect_max_attempts]
            if over:
                worst = max(over, key=lambda row: row.attempts)
                violations.append(
                    f"{name}: {len(over)} of {sender.deliveries} deliveries took more than "
                    f"{expect_max_attempts} attempt(s) (most: {worst.attempts}, delivery {safe(worst.key, limit=40)})"
                )
        if expect_min_attempts is not None:
            under = [
                row for row in sender.rows if row.accepted_at_attempt is None and row.attempts < expect_min_attempts
            ]
            if under:
                worst = min(under, key=lambda row: row.attempts)
                violations.append(
                    f"{name}: {len(under)} delivery(ies) never accepted were tried fewer than "
                    f"{expect_min_attempts} time(s) (fewest: {worst.attempts}, delivery {safe(worst.key, limit=40)})"
                )
        if expect_honours_retry_after:
            if sender.retry_after_ignored:
                case = next(c for c in sender.retry_after_cases if not c.honoured)
                violations.append(
                    f"{name}: {sender.retry_after_ignored} retry(ies) came sooner than Retry-After asked "
                    f"(e.g. after {seconds_text(case.waited)} instead of {seconds_text(case.asked)}, "
                    f"delivery {safe(case.key, limit=40)} attempt #{case.attempt})"
                )
        if expect_stops_after_success:
            if sender.continued_after_success:
                violations.append(
                    f"{name}: {sender.continued_after_success} delivery(ies) were tried again after a 2xx "
                    f"(e.g. {safe(sender.continued_keys[0], limit=40)})"
                )
    # A check that nothing exercised must not pass silently; senders it did not concern are fine.
    if expect_honours_retry_after and not any(s.retry_after_honoured or s.retry_after_ignored for s in report.senders):
        violations.append("no retry followed an answer with Retry-After, so honouring it is unproven")
    if expect_stops_after_success and not any(
        s.stopped_after_success or s.continued_after_success for s in report.senders
    ):
        violations.append("no delivery was answered 2xx, so stopping after success is unproven")
    return violations
