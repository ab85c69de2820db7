"use strict";
// Internal notes on the open chat: for agents only (POST /agent/api/conversations/ID/notes),
// never sent to the customer, shown in the transcript among the messages and marked as notes.

function addNote(note) {
  if ($("transcript").querySelector('[data-note="' + note.id + '"]')) return;
  const entry = el("div", {class: "entry note", "data-note": String(note.id)},
    el("span", {class: "meta", text: t("note_meta", {agent: note.agent_name, time: whenOf(note.at)})}),
    el("span", {class: "text", text: note.text}));
  placeEntry(entry, note.at);
  $("transcript").scrollTop = $("transcript").scrollHeight;
}

async function saveNote() {
  const text = $("note-text").value.trim();
  if (!text || !state.current) return;
  $("add-note").disabled = true;
  showError("chat-error", null);
  try {
    const note = await api("conversations/" + encodeURIComponent(state.current) + "/notes", {body: {text}});
    state.packet.notes.push(note);
    addNote(note);
    $("note-text").value = "";
    $("note-form").open = false;
  } catch (err) { showError("chat-error", err); }
  finally { $("add-note").disabled = false; }
}
$("add-note").addEventListener("click", saveNote);
$("note-text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) saveNote(); });
