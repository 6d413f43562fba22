// Level badge (from Concierge's /v1/rewards/me, then from level-up pushes) and the toast.
export default function Rewards({ rewards, error }) {
  const level = rewards?.level;
  return (
    <section className="card rewards" aria-label="Rewards">
      <h2>Rewards</h2>
      {level ? (
        <span className={`level-badge level-${level.level}`} data-testid="level-badge" data-level={level.level}>
          {level.name}
        </span>
      ) : (
        <span className="muted">{error ? `Rewards unavailable (${error})` : "Loading rewards…"}</span>
      )}
      {rewards?.vip_points !== undefined && (
        <dl className="facts">
          <dt>VIP points</dt>
          <dd data-testid="vip-points">{rewards.vip_points}</dd>
          <dt>Wagered</dt>
          <dd>{rewards.volume_usd} USD</dd>
          {rewards.next_level && (
            <>
              <dt>Next level</dt>
              <dd>{rewards.next_level.remaining_usd} USD to go</dd>
            </>
          )}
        </dl>
      )}
    </section>
  );
}

export function LevelUpToast({ levelUp, onClose }) {
  return (
    <div className="toast" data-testid="level-up-toast" data-level={levelUp.level} role="status">
      <span>
        Level up! You reached <strong>{levelUp.name}</strong>
      </span>
      <button className="secondary" aria-label="Dismiss" onClick={onClose}>
        ×
      </button>
    </div>
  );
}
