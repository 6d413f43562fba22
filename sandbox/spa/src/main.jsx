import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import App from "./App.jsx";
import { readRelease } from "./release.js";
import "./styles.css";

const release = readRelease();

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <App release={release} />
  </StrictMode>,
);
