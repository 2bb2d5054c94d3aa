"""The adverse-action notice of a recorded decision, in plain words: what was decided, the principal reasons, and what
would have changed the outcome. Built from the record alone (its payload's `decision`, `reasons` and `recourse`), so
the notice an applicant gets today and the one an examiner reads years later say the same."""

from __future__ import annotations

from pipeline.serving.store import Record

# Regulation B's sample forms give up to four principal reasons; more dilutes them.
MAX_REASONS = 4


def _value(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_recourse(option: dict) -> str:
    """'duration from 36 to 12 and amount from 9000 to 5000 (score 0.61)'."""
    changes = option.get("changes") or {}
    words = [f"{feature} from {_value(change[0])} to {_value(change[1])}"
             if isinstance(change, (list, tuple)) and len(change) == 2 else f"{feature} to {_value(change)}"
             for feature, change in changes.items()]
    text = " and ".join(words) if words else "(no change recorded)"
    score = option.get("score")
    return f"{text} (score {score:.2f})" if isinstance(score, (int, float)) else text


def adverse_action_notice(record: Record) -> str:
    """The notice's text. An approval states it and needs no reasons; a purged record has no content left to tell."""
    day = record.time[:10]
    header = f"Notice of action taken on your application (decision {record.id}, {day})"
    if record.payload is None:
        return (f"{header}\nThis decision's content was removed on {(record.purged_at or '')[:10]} under the "
                f"retention policy; its notice can no longer be produced.")
    payload = record.payload
    decision = str(payload.get("decision", "")).lower()
    if decision == "approve":
        return f"{header}\nYour application was approved. No adverse action was taken."
    lines = [header, "Your application was declined." if decision == "decline" else
             f"The decision on your application: {decision or '(not recorded)'}."]
    reasons = [str(r) for r in payload.get("reasons") or []][:MAX_REASONS]
    lines.append("The principal reasons for this decision:" if reasons else
                 "No reasons were recorded for this decision.")
    lines.extend(f"  {n}. {reason}" for n, reason in enumerate(reasons, 1))
    options = [o for o in payload.get("recourse") or [] if isinstance(o, dict)]
    if options:
        lines.append("Any one of these changes would have led to a different outcome:")
        lines.extend(f"  - {describe_recourse(option)}" for option in options)
    return "\n".join(lines)
