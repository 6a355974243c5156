/** `https://host/` and `https://host` are the same origin to the client. */
export function trimSlash(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}
