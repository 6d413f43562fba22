// One `balance` element per currency whose text is exactly Vault's decimal string
// (no symbol, no separators): probes compare it with Vault's API as a string.
export default function Balances({ codes, balances }) {
  return (
    <section className="balances" aria-label="Balances">
      {balances === null ? (
        <p className="muted">Loading wallet…</p>
      ) : (
        codes.map((code) => (
          <div className="balance-tile" key={code}>
            <span className="currency">{code}</span>
            {balances[code] !== undefined && (
              <span className="amount" data-testid="balance" data-currency={code}>
                {balances[code]}
              </span>
            )}
          </div>
        ))
      )}
    </section>
  );
}
