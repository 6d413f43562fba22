// The room's chat. Messages are shown as the server broadcasts them (sender included), so
// each element carries the server's message_id next to the page's own client_msg_id.
import { useState } from "react";

export default function Chat({ room, messages, error, connected, onSend }) {
  const [text, setText] = useState("");

  function submit(event) {
    event.preventDefault();
    const trimmed = text.trim();
    if (!trimmed) return;
    onSend(trimmed);
    setText("");
  }

  return (
    <section className="card chat" aria-label="Chat">
      <h2>
        Chat <span className="muted">#{room}</span>
      </h2>
      <ol className="messages" data-testid="chat-messages">
        {messages.map((message) => (
          <li
            key={message.message_id}
            data-testid="chat-message"
            data-client-msg-id={message.client_msg_id ?? ""}
            data-message-id={message.message_id}
          >
            <span className="author">{message.display_name}</span>
            <span className="text">{message.text}</span>
          </li>
        ))}
      </ol>
      <form className="row" onSubmit={submit}>
        <input
          data-testid="chat-input"
          aria-label="Message"
          placeholder="Say hello"
          value={text}
          maxLength={500}
          onChange={(event) => setText(event.target.value)}
        />
        <button data-testid="chat-send" type="submit" disabled={!connected}>
          Send
        </button>
      </form>
      {error && (
        <p className="error" data-testid="chat-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
