// The page's socket.io connection to Room-Service: connection status, pushes, chat.
import { useCallback, useEffect, useRef, useState } from "react";
import { io } from "socket.io-client";
import { newId } from "./api.js";

const ACK_TIMEOUT_MS = 5000;

// Connects once `token` is set (after the first balance read, so pushes land on top of it)
// and joins `room`. Handlers are read through a ref so that they may change every render.
export function useLive(token, room, handlers) {
  const [status, setStatus] = useState("connecting");
  const [transport, setTransport] = useState("polling");
  const [chatError, setChatError] = useState(null);
  const socketRef = useRef(null);
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;

  useEffect(() => {
    if (!token) return undefined;
    // Default transports: long-polling first, then upgraded to WebSocket.
    const socket = io({ path: "/socket.io/", auth: { token } });
    socketRef.current = socket;
    setStatus("connecting");

    socket.io.on("open", () => {
      const engine = socket.io.engine;
      setTransport(engine.transport.name);
      engine.on("upgrade", (upgraded) => setTransport(upgraded.name));
    });
    socket.io.on("reconnect_attempt", () => setStatus("connecting"));
    socket.on("connect", () => {
      setStatus("connected");
      socket.timeout(ACK_TIMEOUT_MS).emit("chat:join", { room }, (error, ack) => {
        setChatError(error || !ack?.ok ? "could not join the chat room" : null);
      });
    });
    socket.on("disconnect", () => setStatus("disconnected"));
    socket.on("connect_error", () => setStatus("disconnected"));
    socket.on("balance:update", (push) => handlersRef.current.onBalance(push));
    socket.on("rewards:level_up", (push) => handlersRef.current.onLevelUp(push));
    socket.on("chat:message", (message) => {
      if (message.room === room) handlersRef.current.onChat(message);
    });

    return () => {
      socket.disconnect();
      socketRef.current = null;
    };
  }, [token, room]);

  const sendChat = useCallback(
    (text) => {
      const socket = socketRef.current;
      if (!socket?.connected) {
        setChatError("not connected");
        return;
      }
      const payload = { room, text, client_msg_id: newId() };
      socket.timeout(ACK_TIMEOUT_MS).emit("chat:send", payload, (error, ack) => {
        setChatError(error || !ack?.ok ? "message not sent" : null);
      });
    },
    [room],
  );

  return { status, transport, chatError, sendChat };
}
