import { useState } from "react";
import { vault } from "./api.js";

export default function Login({ onLoggedIn }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await vault("/v1/auth/login", {
        method: "POST",
        body: { username, password },
      });
      onLoggedIn({ token: answer.token, username });
    } catch (failure) {
      setError(failure.code === "unauthorized" ? "Wrong username or password" : failure.code);
      setBusy(false);
    }
  }

  return (
    <main className="login-page">
      <form className="card login-card" onSubmit={submit}>
        <h1 className="brand">
          <span className="brand-mark">◆</span> Mystery Guest Casino
        </h1>
        <label>
          Username
          <input
            data-testid="login-username"
            name="username"
            autoComplete="username"
            value={username}
            onChange={(event) => setUsername(event.target.value)}
            required
          />
        </label>
        <label>
          Password
          <input
            data-testid="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            required
          />
        </label>
        <button data-testid="login-submit" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error && (
          <p className="error" data-testid="login-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
