// A dice bet. The result comes from Vault's answer; the balance from the push that follows.
import { useState } from "react";
import { vault } from "./api.js";

export default function DiceBet({ token, codes }) {
  const [currency, setCurrency] = useState("USD");
  const [stake, setStake] = useState("1.00");
  const [selection, setSelection] = useState("high");
  const [bet, setBet] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await vault("/v1/bets", {
        token,
        method: "POST",
        body: { game: "dice", currency, stake: stake.trim(), selection },
        idempotent: true,
      });
      setBet({ ...answer, currency });
    } catch (failure) {
      setBet(null);
      setError(failure.code);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card dice" onSubmit={submit} aria-label="Dice">
      <h2>
        Dice <span className="muted">pays 2×</span>
      </h2>
      <div className="row">
        <select
          data-testid="bet-currency"
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
          data-testid="bet-stake"
          inputMode="decimal"
          aria-label="Stake"
          value={stake}
          onChange={(event) => setStake(event.target.value)}
          required
        />
      </div>
      <div className="row selection" role="radiogroup" aria-label="Selection">
        {["high", "low"].map((choice) => (
          <label key={choice} className={selection === choice ? "chip chosen" : "chip"}>
            <input
              type="radio"
              name="selection"
              data-testid={`bet-selection-${choice}`}
              value={choice}
              checked={selection === choice}
              onChange={() => setSelection(choice)}
            />
            {choice}
          </label>
        ))}
        <button data-testid="bet-submit" type="submit" disabled={busy}>
          {busy ? "Rolling…" : "Roll"}
        </button>
      </div>
      {bet && (
        <p
          className={`bet-result outcome-${bet.outcome}`}
          data-testid="bet-result"
          data-outcome={bet.outcome}
          data-bet-id={bet.bet_id}
        >
          <strong>{bet.outcome === "win" ? "You win!" : "You lose"}</strong> payout{" "}
          <span data-testid="bet-payout">{bet.payout}</span> {bet.currency}
        </p>
      )}
      {error && (
        <p className="error" data-testid="bet-error" data-error={error} role="alert">
          Bet refused: {error}
        </p>
      )}
    </form>
  );
}
