// The /account page: who is logged in, their level and their latest transactions.
import { useEffect, useState } from "react";
import { vault } from "./api.js";

export default function Account({ token, username, rewards }) {
  const [transactions, setTransactions] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    let cancelled = false;
    vault("/v1/transactions?limit=20", { token })
      .then((answer) => {
        if (!cancelled) setTransactions(Array.isArray(answer) ? answer : (answer?.transactions ?? []));
      })
      .catch((failure) => !cancelled && setError(failure.code));
    return () => {
      cancelled = true;
    };
  }, [token]);

  return (
    <main className="card account" data-testid="account-page">
      <h2>Account</h2>
      <p>
        Signed in as <strong>{username}</strong>
        {rewards?.level && <> · level {rewards.level.name}</>}
      </p>
      <h3>Latest transactions</h3>
      {error && <p className="error">Could not load the history ({error})</p>}
      {transactions === null && !error && <p className="muted">Loading…</p>}
      {transactions !== null && transactions.length === 0 && <p className="muted">None yet.</p>}
      {transactions !== null && transactions.length > 0 && (
        <table className="transactions" data-testid="transactions">
          <thead>
            <tr>
              <th>When</th>
              <th>Type</th>
              <th className="number">Amount</th>
              <th className="number">Balance after</th>
            </tr>
          </thead>
          <tbody>
            {transactions.map((entry) => (
              <tr key={entry.id}>
                <td>{entry.created_at}</td>
                <td>{entry.type}</td>
                <td className="number">
                  {entry.amount} {entry.currency}
                </td>
                <td className="number">{entry.balance_after}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
