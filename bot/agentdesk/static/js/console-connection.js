"use strict";
// The console while the gateway's database is away (a PostgreSQL restart): the API answers 503
// `database_unavailable` (bot/web/http.py) and the live stream ends. The page shows a short notice
// ("connection to the database lost, retrying"), asks again every few seconds, and once the
// database answers it hides the notice and reopens the stream, which reads the queue and the open
// chat afresh: nothing to reload by hand.

const CONNECTION_RETRY_MS = 3000;
const connection = {timer: null};

// Called by api() (dom.js) for every 503 `database_unavailable`.
function connectionLost() {
  $("database-notice").classList.remove("hidden");
  retryConnection();
}

function retryConnection() {
  clearTimeout(connection.timer);
  connection.timer = setTimeout(checkConnection, CONNECTION_RETRY_MS);
}

async function checkConnection() {
  clearTimeout(connection.timer);
  let me;
  try {
    me = await api("me");
  } catch (err) {
    // Away (api() showed the notice) or unreachable: again later. 401: api() showed the log-in.
    if (isDatabaseAway(err) || err instanceof TypeError) retryConnection();
    else $("database-notice").classList.add("hidden");
    return;
  }
  $("database-notice").classList.add("hidden");
  if (state.me) connect();
  else showApp(me);
}

// EventSource reconnects by itself after a dropped connection, but gives up for good when the
// reconnection is answered with an error (503 while the database is away, 401): then we check.
function watchStream(source) {
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED && state.source === source) checkConnection();
  });
}
