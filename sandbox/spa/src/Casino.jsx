// The logged-in page. Balances are read ONCE from Vault and then changed only by
// `balance:update` pushes: that is what the browser probes check.
import { useEffect, useRef, useState } from "react";
import Account from "./Account.jsx";
import { concierge, vault } from "./api.js";
import Balances from "./Balances.jsx";
import Chat from "./Chat.jsx";
import ConnectionStatus from "./ConnectionStatus.jsx";
import DepositForm from "./DepositForm.jsx";
import DiceBet from "./DiceBet.jsx";
import { useLive } from "./live.js";
import { showsStaleBalances } from "./release.js";
import Rewards, { LevelUpToast } from "./Rewards.jsx";
import { chatRoom, useRoute } from "./route.js";

const MAX_CHAT_MESSAGES = 100;

export default function Casino({ session, release, onLogout }) {
  const { token, username } = session;
  const { page, navigate } = useRoute();
  const [room] = useState(chatRoom);
  const [currencies, setCurrencies] = useState([]);
  const [balances, setBalances] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [rewards, setRewards] = useState(null);
  const [rewardsError, setRewardsError] = useState(null);
  const [levelUp, setLevelUp] = useState(null);
  const [messages, setMessages] = useState([]);
  const previousPush = useRef({});
  const logout = useRef(onLogout);
  logout.current = onLogout;

  useEffect(() => {
    let cancelled = false;
    Promise.all([vault("/v1/currencies"), vault("/v1/balance", { token })])
      .then(([currencyList, balance]) => {
        if (cancelled) return;
        setCurrencies(currencyList);
        setBalances(balance.balances);
      })
      .catch((failure) => {
        if (cancelled) return;
        if (failure.status === 401) logout.current();
        else setLoadError(failure.code);
      });
    concierge("/v1/rewards/me", { token })
      .then((answer) => !cancelled && setRewards(answer))
      .catch((failure) => !cancelled && setRewardsError(failure.code));
    return () => {
      cancelled = true;
    };
  }, [token]);

  function onBalance(push) {
    let shown = push.balance;
    if (showsStaleBalances(release)) {
      shown = previousPush.current[push.currency];
      previousPush.current[push.currency] = push.balance;
      if (shown === undefined) return;
    }
    setBalances((current) => ({ ...current, [push.currency]: shown }));
  }

  function onLevelUp(push) {
    setLevelUp(push);
    setRewards((current) => ({ ...(current ?? {}), level: { level: push.level, name: push.name } }));
    concierge("/v1/rewards/me", { token })
      .then((answer) => setRewards(answer))
      .catch(() => {});
  }

  function onChat(message) {
    setMessages((current) => [...current, message].slice(-MAX_CHAT_MESSAGES));
  }

  const live = useLive(balances ? token : null, room, { onBalance, onLevelUp, onChat });
  const currencyCodes = currencies.length
    ? currencies.map((currency) => currency.code)
    : Object.keys(balances ?? {});

  return (
    <div className="casino">
      <header className="topbar">
        <h1 className="brand">
          <span className="brand-mark">◆</span> Mystery Guest Casino
        </h1>
        <nav>
          <a
            href="/"
            className={page === "lobby" ? "active" : ""}
            onClick={(event) => {
              event.preventDefault();
              navigate("/");
            }}
          >
            Lobby
          </a>
          <a
            href="/account"
            className={page === "account" ? "active" : ""}
            onClick={(event) => {
              event.preventDefault();
              navigate("/account");
            }}
          >
            Account
          </a>
        </nav>
        <ConnectionStatus status={live.status} transport={live.transport} />
        <span className="user" data-testid="user-name">
          {username}
        </span>
        <button className="secondary" data-testid="logout" onClick={onLogout}>
          Log out
        </button>
      </header>

      {levelUp && <LevelUpToast levelUp={levelUp} onClose={() => setLevelUp(null)} />}

      {loadError && (
        <p className="error banner" data-testid="load-error" role="alert">
          Could not load your wallet ({loadError})
        </p>
      )}

      <Balances codes={currencyCodes} balances={balances} />

      {page === "account" ? (
        <Account token={token} username={username} rewards={rewards} />
      ) : (
        <main className="grid">
          <section className="column">
            <DiceBet token={token} codes={currencyCodes} />
            <DepositForm token={token} codes={currencyCodes} />
          </section>
          <section className="column">
            <Rewards rewards={rewards} error={rewardsError} />
            <Chat
              room={room}
              messages={messages}
              error={live.chatError}
              connected={live.status === "connected"}
              onSend={live.sendChat}
            />
          </section>
        </main>
      )}
    </div>
  );
}
