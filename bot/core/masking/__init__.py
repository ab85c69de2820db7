"""Masking of personal data in transcripts that leave the agent console (logs, exports, Slack).

What is masked, and what the agent still sees:

======  =============================  ====================================================
kind    example                        masked as
======  =============================  ====================================================
phone   ``0470 12 34 56``              ``[phone •••56]`` (last 2 digits)
IBAN    ``BE68 5390 0754 7034``        ``[IBAN BE•• •••• •••• 7034]`` (country + last 4)
e-mail  ``jan.peeters@example.com``    ``[email j•••@example.com]`` (first character + domain)
card    ``4111-1111-1111-1111``        ``[card •••• 1111]`` (last 4)
======  =============================  ====================================================

The IBAN mask has the same shape whatever the country's IBAN length. Text around the data
(punctuation, HTML tags, emoji) is left exactly as it was.

Detection is strict so that the ordinary numbers customers write (amounts, dates, times, postcodes,
PIN and PUK codes, invoice numbers, "1.5 GB") stay readable:

* phones: ``phonenumbers.PhoneNumberMatcher`` with leniency VALID, per region of ``regions``.
  A number must be written internationally (``+32 …``, ``0032 …``) or with the region's trunk
  prefix (``0470 …``), or be a valid *mobile* number with its country code but no "+"
  (``32470123456``) or from a region without trunk prefix (Luxembourg's ``621 123 456``); an
  8-digit PUK is none of these. Like the matcher, "470 12 34 56" (no trunk prefix) is not taken
  for a Belgian number: written so, it cannot be told from a Unix time such as "1763900000",
  which is a valid German mobile number without its 0. Numbers of fewer than 8 national digits,
  dates ("05/11/2026 14:30") and decimals ("0.123456789") are not phones. Numbers written side by
  side without punctuation ("02 512 34 56 0470 12 34 56"), which the matcher cannot split, are
  parsed group by group. A number is masked when it is valid in *any* of the regions, so
  "02 123 45 67" (not an allocated Belgian number) is still masked as a German one.
* IBANs: 2 letters, 2 check digits and groups of 4 (spaces optional, any case), validated by
  ``schwifty.IBAN`` (country, length, BBAN format, mod-97 checksum).
* cards: 13–19 digits, not starting with 0, Luhn-valid, with optional single spaces or dashes
  between groups of at least 3 digits. 15 digits right after "IMEI" are a handset, not a card.
* e-mail addresses: ``local@domain.tld``.

Masks hold at most 4 digits and never a full address, so masking is idempotent.

``mask_text`` never raises and never hangs. The phone search has a work budget per call: past it
(only on pathological input such as thousands of digit groups), and in runs of digits longer than
64 characters, digit groups starting with "+" or "0" are masked with the groups that follow them
as ``[phone •••]``, without validation. If a detector fails unexpectedly, every run of 6+
digits and every e-mail-like word becomes ``[redacted]``: over-masking is preferred to leaking.
"""

from __future__ import annotations

from bot.core.masking.logfilter import MaskingFilter, install_log_masking
from bot.core.masking.text import DEFAULT_REGIONS, mask_text, mask_transcript

__all__ = ["DEFAULT_REGIONS", "MaskingFilter", "install_log_masking", "mask_text", "mask_transcript"]
