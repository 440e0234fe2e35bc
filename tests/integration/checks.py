"""Checks shared by the integration case modules."""


def one_error_line(err):
    """A refused start: exactly one line on stderr, `landlord: ...`.
    -> list of problems."""
    problems = []
    lines = [l for l in err.splitlines() if l.strip()]
    if len(lines) != 1:
        problems.append(f"want exactly one line on stderr, got {len(lines)}")
    if not err.startswith("landlord"):
        problems.append("stderr line does not start with 'landlord'")
    return problems
