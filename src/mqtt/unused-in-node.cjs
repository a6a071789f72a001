// Stands in, in the bundle, for the parts of MQTT.js a Node.js device never runs: browser worker
// timers (only with timerVariant "worker"), WebSocket transports (ws://, wss://) and SOCKS
// proxies (only with socksProxy). Each would fail loudly here rather than quietly.
"use strict";
const unused = (what) => () => {
  throw new Error(`${what} is not in this build (MQTT over TLS only)`);
};
module.exports = new Proxy({}, { get: (_, name) => (name === "__esModule" ? false : unused(`MQTT.js ${String(name)}`)) });
