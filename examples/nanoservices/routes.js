// URL → route. Kept in its own module to show modules importing each other by name.
export function route(url) {
  if (url.pathname === "/") return { name: "home" };
  if (url.pathname === "/site") return { name: "site" };
  const match = url.pathname.match(/^\/data\/([^/]+)$/);
  if (match) return { name: "data", key: decodeURIComponent(match[1]) };
  return { name: "none" };
}
