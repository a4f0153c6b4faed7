/**
 * Comma-separated header values with quoted strings (RFC 3261 §7.3.1, RFC 9110 §5.6):
 * shared by the SIP registrar and the provisioning server's HTTP Authorization. Pure.
 */

/** Index of the quote closing the quoted-string opened at `open`, honouring backslash escapes; -1 if none. */
export function closingQuote(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '"') return i;
  }
  return -1;
}

/**
 * Splits a header value into its comma-separated elements, ignoring commas in
 * quoted strings and inside `<…>` (RFC 3261 §7.3.1). Returns null on an unclosed quote or bracket.
 */
export function splitHeaderList(value: string): string[] | null {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"') {
      const end = closingQuote(value, i);
      if (end < 0) return null;
      i = end;
    } else if (c === '<') depth++;
    else if (c === '>') {
      if (depth === 0) return null;
      depth--;
    } else if (c === ',' && depth === 0) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (depth !== 0) return null;
  out.push(value.slice(start).trim());
  return out.filter((e) => e !== '');
}
