// Deposit with the sandbox payment method. The balance is NOT re-read afterwards: it changes
// when Room-Service pushes `balance:update`. Only the deposit's own status is polled.
import { useEffect, useRef, useState } from "react";
import { vault } from "./api.js";

const POLL_MS = 500;
const POLL_LIMIT_MS = 60000;

export default function DepositForm({ token, codes }) {
  const [currency, setCurrency] = useState("USD");
  const [amount, setAmount] = useState("10.00");
  const [deposit, setDeposit] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const timer = useRef(null);

  useEffect(() => () => clearTimeout(timer.current), []);

  function followStatus(depositId, startedAt) {
    timer.current = setTimeout(async () => {
      try {
        const current = await vault(`/v1/deposits/${encodeURIComponent(depositId)}`, { token });
        setDeposit(current);
        if (current.status === "pending" && Date.now() - startedAt < POLL_LIMIT_MS) {
          followStatus(depositId, startedAt);
        }
      } catch (failure) {
        setError(failure.code);
      }
    }, POLL_MS);
  }

  async function submit(event) {
    event.preventDefault();
    clearTimeout(timer.current);
    setBusy(true);
    setError(null);
    setDeposit(null);
    try {
      const answer = await vault("/v1/deposits", {
        token,
        method: "POST",
        body: { currency, amount: amount.trim(), method: "sandbox" },
        idempotent: true,
      });
      setDeposit(answer);
      if (answer.status === "pending") followStatus(answer.deposit_id, Date.now());
    } catch (failure) {
      setError(failure.code);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card" onSubmit={submit} aria-label="Deposit">
      <h2>Deposit</h2>
      <div className="row">
        <select
          data-testid="deposit-currency"
          value={currency}
          onChange={(event) => setCurrency(event.target.value)}
        >
          {codes.map((code) => (
            <option key={code} value={code}>
              {code}
            </option>
          ))}
        </select>
        <input
          data-testid="deposit-amount"
          inputMode="decimal"
          aria-label="Deposit amount"
          value={amount}
          onChange={(event) => setAmount(event.target.value)}
          required
        />
        <button data-testid="deposit-submit" type="submit" disabled={busy}>
          Deposit
        </button>
      </div>
      <p className="hint">Sandbox payment method: test accounts only.</p>
      {deposit && (
        <p
          className={`status status-${deposit.status}`}
          data-testid="deposit-status"
          data-deposit-id={deposit.deposit_id}
          data-status={deposit.status}
        >
          Deposit {deposit.status}
        </p>
      )}
      {error && (
        <p className="error" data-testid="deposit-error" data-error={error} role="alert">
          Deposit refused: {error}
        </p>
      )}
    </form>
  );
}
