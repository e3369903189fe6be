"""统一社会信用代码 (unified social credit code), GB 32100-2015, with its check digit."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_digit(first17: str) -> str:
    """The 18th character for the first 17."""
    total = sum(
        ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True)
    )
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why `code` is not a valid credit code, or None when it is."""
    if len(code) != 18:
        return f"须为18位，实为{len(code)}位 / must be 18 characters, got {len(code)}"
    bad = sorted({char for char in code if char not in ALPHABET})
    if bad:
        return f"含非法字符 {''.join(bad)} / contains invalid characters {''.join(bad)}"
    expected = check_digit(code[:17])
    if code[17] != expected:
        return f"校验码应为 {expected} / check digit should be {expected}"
    return None


def make_credit_code(body: str) -> str:
    """Append the check digit to a 17-character body (demo data and tests)."""
    return body + check_digit(body)
