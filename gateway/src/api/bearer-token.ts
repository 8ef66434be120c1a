/**
 * The token of an `Authorization: Bearer <token>` header, or '' when it names none. An auth
 * scheme is case-insensitive (RFC 9110 §11.1): `bearer <token>`, as some clients send it, was
 * refused (helper-77).
 */
export function bearerToken(header: string): string {
  const match = /^bearer[ \t]+(.*)$/i.exec(header);
  return match?.[1]?.trim() ?? '';
}
