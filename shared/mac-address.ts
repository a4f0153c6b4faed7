/**
 * MAC addresses arrive in every vendor's spelling (`00-15-65-00-00-01`,
 * `0015.6500.0001`, `001565000001`, upper or lower case). They are stored and
 * returned in one form, lower-case colon-separated `00:15:65:00:00:01`, so
 * uniqueness holds however a client writes them.
 */
const FORMS = [
  /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i,
  /^([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})$/i,
  /^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i,
];

/** The normalised form of `input`, or null when it is not a 48-bit MAC address. */
export function normalizeMacAddress(input: string): string | null {
  const trimmed = input.trim();
  for (const form of FORMS) {
    const m = form.exec(trimmed);
    if (m) {
      // One separator style per address: "00:15-65..." is a typo, not a MAC.
      if (form === FORMS[0] && new Set(trimmed.replace(/[0-9a-f]/gi, '')).size !== 1) return null;
      return m.slice(1, 7).join(':').toLowerCase();
    }
  }
  return null;
}
