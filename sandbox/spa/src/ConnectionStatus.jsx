export default function ConnectionStatus({ status, transport }) {
  return (
    <span
      className={`connection connection-${status}`}
      data-testid="connection-status"
      data-transport={transport}
      title={`live updates: ${status} (${transport})`}
    >
      {status}
    </span>
  );
}
