// Incremental Server-Sent Events reader for fetch() bodies (ChatKit protocol §3.1):
// accepts "data:" with or without a space, joins multi-line data with "\n", ignores
// event:/id:/retry: and ":" comments, dispatches on each blank line, handles CR, LF and CRLF.

export async function readSSE(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let data = [];
  let hasData = false;

  const line = (l) => {
    if (l === "") {
      if (hasData) {
        const payload = data.join("\n");
        data = [];
        hasData = false;
        onData(payload);
      }
      return;
    }
    if (l.startsWith(":")) return;
    const i = l.indexOf(":");
    const field = i === -1 ? l : l.slice(0, i);
    let value = i === -1 ? "" : l.slice(i + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      data.push(value);
      hasData = true;
    }
  };

  const scan = (final) => {
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i + 1 === buf.length && !final) break; // a CR at the chunk end may be half of CRLF
      line(buf.slice(start, i));
      if (c === 13 && buf.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    buf = buf.slice(start);
  };

  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      scan(false);
    }
    buf += decoder.decode();
    scan(true);
    if (buf !== "") line(buf);
    buf = "";
    line(""); // be lenient: dispatch a last event that lacks its blank line
  } finally {
    reader.releaseLock?.();
  }
}
