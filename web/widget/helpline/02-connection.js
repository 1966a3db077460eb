	/* Part 2 of the widget script (web/widget/helpline/, joined in name order): Outbox, Connection, ReadMarks, QuickExit. */

	/* ---------- Outbox: messages sent but not yet acknowledged ----------
	 * Kept in order, each with its client id, and stored (save) on every change so that a
	 * reload resends them; the server stores each once, whatever earlier attempts did. */

	function Outbox(items, save) {
		var list = (items || []).slice();
		return {
			add: function (text) {
				var message = { client_id: randomId(), text: text };
				list.push(message);
				save(list.slice());
				return message;
			},
			/* Drops a message (acknowledged, or refused for good); returns it, or null. */
			remove: function (clientId) {
				var found = list.filter(function (m) { return m.client_id === clientId; })[0] || null;
				if (found) {
					list = list.filter(function (m) { return m !== found; });
					save(list.slice());
				}
				return found;
			},
			all: function () { return list.slice(); }
		};
	}

	/* ---------- Connection: the requester socket ----------
	 * Resumes with `after` (the last seq shown), resends the outbox once the backlog is in,
	 * reconnects with backoff — except after a final close code, when it stops for good.
	 * It speaks the lean wire (`wire: 2`): its own messages come back as an `ack` only,
	 * and no `status` comes for a turn change (the chat does not show whose turn it is). */

	function Connection(o) {
		// o: url, token, after(), outbox (Outbox), onLive(), onFrame(f), onState(s), onGone(code)
		var ws = null, live = false, delay = BACKOFF_START_MS, timer = null, stopped = false;

		function send(frame) {
			if (ws && live) { ws.send(JSON.stringify(frame)); return true; }
			return false;
		}
		function flush() {
			o.outbox.all().forEach(function (m) { send({ type: 'message', client_id: m.client_id, text: m.text }); });
		}
		function onClose(socket, e) {
			if (socket !== ws) { return; }
			live = false;
			if (stopped) { return; }
			if (FINAL_CLOSE_CODES.indexOf(e.code) >= 0) {
				stopped = true;
				o.onGone(e.code);
				return;
			}
			o.onState('lost');
			timer = setTimeout(connect, delay + Math.floor(Math.random() * 500));
			delay = Math.min(delay * 2, BACKOFF_MAX_MS);
		}
		function onMessage(e) {
			var frame;
			try { frame = JSON.parse(e.data); } catch (err) { return; /* not a frame of ours */ }
			if (frame.type === 'status' && !live) {
				// The backlog is in: now unsent messages go out, after it.
				live = true;
				delay = BACKOFF_START_MS;
				o.onState('live');
				o.onLive();
				flush();
			}
			o.onFrame(frame);
		}
		function connect() {
			clearTimeout(timer);
			if (stopped) { return; }
			live = false;
			o.onState('connecting');
			var socket = new WebSocket(o.url);
			ws = socket;
			socket.onopen = function () { socket.send(JSON.stringify({ type: 'hello', token: o.token, after: o.after(), wire: 2 })); };
			socket.onmessage = onMessage;
			socket.onclose = function (e) { onClose(socket, e); };
		}
		return {
			start: connect,
			send: send,
			/* Queues a message in the outbox and sends it; null once stopped for good. */
			queue: function (text) {
				if (stopped) { return null; }
				var message = o.outbox.add(text);
				send({ type: 'message', client_id: message.client_id, text: text });
				return message;
			},
			retryLater: function (seconds) { setTimeout(flush, seconds * 1000); },
			stop: function () {
				stopped = true;
				clearTimeout(timer);
				if (ws) { try { ws.close(1000, 'bye'); } catch (e) { /* already closed */ } }
			}
		};
	}

	/* ---------- ReadMarks ----------
	 * `read {seq}` for the highest helper message the person has had on screen: only while
	 * the chat is shown and the page visible, one mark for the highest, never one per
	 * message; messages that arrive while hidden are marked when the chat is seen again. */

	function ReadMarks(send, onScreen) {
		var rendered = 0, sent = 0, timer = null;
		function flush() {
			timer = null;
			if (rendered > sent && onScreen() && send({ type: 'read', seq: rendered })) { sent = rendered; }
		}
		function later() {
			if (!timer) { timer = setTimeout(flush, 0); }
		}
		d.addEventListener('visibilitychange', later);
		return {
			rendered: function (seq) { rendered = Math.max(rendered, seq); later(); },
			check: later,
			stop: function () { d.removeEventListener('visibilitychange', later); clearTimeout(timer); }
		};
	}

	/* ---------- QuickExit ----------
	 * The red button; and Escape twice within ESCAPE_TWICE_MS, counted only while the focus
	 * is inside the open dialog or the shown chat — never after they closed, never from the
	 * rest of the page (an edit form there would be thrown away). */

	function QuickExit(url, roots, cleanup) {
		var last = 0;
		function leave() {
			cleanup();
			w.location.replace(url || 'about:blank');
		}
		function inWidget(node) {
			return roots().some(function (r) {
				return r && r.isConnected && !r.hidden && (r.tagName !== 'DIALOG' || r.open) && r.contains(node);
			});
		}
		function onKey(e) {
			if (e.key !== 'Escape') { return; }
			if (!inWidget(e.target) || !inWidget(d.activeElement)) { last = 0; return; }
			var now = Date.now();
			if (now - last < ESCAPE_TWICE_MS) { leave(); return; }
			last = now;
		}
		d.addEventListener('keydown', onKey, true);
		return {
			leave: leave,
			button: function (t) {
				return el('button', { type: 'button', class: 'helpline-exit', title: t('helpline-quick-exit-hint'), onclick: leave, text: t('helpline-quick-exit') });
			},
			stop: function () { d.removeEventListener('keydown', onKey, true); }
		};
	}
