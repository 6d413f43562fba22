// A two-page client-side router (no library): "/" is the lobby, "/account" the account page.
// The CDN answers any extension-less path with index.html, so a reload keeps the page.
import { useCallback, useEffect, useState } from "react";

export function useRoute() {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const onPop = () => setPath(window.location.pathname);
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const navigate = useCallback((to) => {
    window.history.pushState(null, "", to + window.location.search);
    setPath(to);
  }, []);
  return { page: path.replace(/\/+$/, "") === "/account" ? "account" : "lobby", navigate };
}

export function chatRoom() {
  return new URLSearchParams(window.location.search).get("room") || "lobby";
}
