// The release descriptor the CDN injects into index.html as window.__MG_RELEASE__.
// A real CloudFront/S3 deployment ships it with each release; the sandbox CDN serves a
// different (buggy) release when a CDN fault is on. Read once, at start-up.

const STABLE = { build: "stable" };

export function readRelease() {
  // No `try` on purpose: a release whose descriptor throws is a broken release, and the
  // page must fail the way such a release fails in production (uncaught error, no app).
  const release = window.__MG_RELEASE__;
  return { ...STABLE, ...(release ?? {}) };
}

// "stale-balance": the release shows every pushed balance one push late (see cdn.py).
export function showsStaleBalances(release) {
  return release.build === "stale-balance";
}
