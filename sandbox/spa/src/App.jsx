import { useState } from "react";
import { forgetSession, storedSession, storeSession } from "./api.js";
import Casino from "./Casino.jsx";
import Login from "./Login.jsx";

export default function App({ release }) {
  const [session, setSession] = useState(storedSession);

  if (!session) {
    return (
      <Login
        onLoggedIn={(next) => {
          storeSession(next);
          setSession(next);
        }}
      />
    );
  }
  return (
    <Casino
      key={session.token}
      session={session}
      release={release}
      onLogout={() => {
        forgetSession();
        setSession(null);
      }}
    />
  );
}
