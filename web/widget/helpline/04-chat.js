	/* Part 4 of the widget script (web/widget/helpline/, joined in name order): Thanks and the Chat sidebar. */

	/* ---------- Thanks: after the end, optional, once ---------- */

	/* `most`: the server's limit on a thank-you's characters (settings). */
	function Thanks(t, sendThanks, most) {
		var rating = '';
		var radios = [1, 2, 3, 4, 5].map(function (n) {
			var input = el('input', { type: 'radio', name: 'helpline-rating', id: 'helpline-rating-' + n, value: String(n) });
			input.addEventListener('change', function () { rating = input.value; });
			return el('span', { class: 'helpline-rating' }, [input, el('label', { for: input.id, text: String(n) })]);
		});
		var words = el('textarea', { id: 'helpline-thanks-text', rows: '2', maxlength: most ? String(most) : null });
		var error = el('p', { class: 'helpline-error', role: 'alert', hidden: 'hidden' });
		var send = el('button', { type: 'submit', class: 'helpline-primary', text: t('helpline-thanks-send') });
		var form = el('form', { class: 'helpline-thanks' }, [
			el('fieldset', {}, [el('legend', { text: t('helpline-thanks-legend') })].concat(radios)),
			el('label', { for: 'helpline-thanks-text', text: t('helpline-thanks-text-label') }), words, error,
			el('div', { class: 'helpline-actions' }, [send])
		]);
		function done() {
			form.parentNode.replaceChild(el('p', { class: 'helpline-thanked', role: 'status', text: t('helpline-thanks-done') }), form);
		}
		form.addEventListener('submit', function (e) {
			e.preventDefault();
			var body = {};
			if (rating) { body.rating = Number(rating); }
			if (words.value.trim()) { body.text = words.value.trim(); }
			if (!body.rating && !body.text) { return; }
			send.disabled = true;
			sendThanks(body).then(done, function (err) {
				if (err.code === 'already_thanked') { done(); return; }
				// Too long, or anything else: the words stay, the reason is shown.
				error.textContent = errorText(t, err);
				error.hidden = false;
				send.disabled = false;
			});
		});
		return form;
	}

	/* ---------- Chat: the sidebar ---------- */

	function authorLabel(t, m) {
		if (m.author_role === 'requester') { return t('helpline-chat-you'); }
		if (m.author_role === 'helper') { return t('helpline-chat-helper', m.author_name || ''); }
		return t('helpline-chat-notice');
	}

	/* The log of messages: each once, in seq order as they come; the requester's own ones
	 * with their mark (sending, delivered, read by the helper side). */
	function MessageLog(t) {
		var log = el('div', { class: 'helpline-log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': 'helpline-chat-title', tabindex: '0' });
		var readSeq = 0;
		function byClientId(clientId) {
			return clientId ? log.querySelector('.helpline-msg[data-client-id="' + clientId.replace(/[^\w.:-]/g, '') + '"]') : null;
		}
		function mark(item) {
			if (item.getAttribute('data-role') !== 'requester') { return ''; }
			var seq = Number(item.getAttribute('data-seq') || 0);
			if (!seq) { return t('helpline-chat-pending'); }
			return seq <= readSeq ? t('helpline-chat-read') : t('helpline-chat-delivered');
		}
		function refresh() {
			Array.prototype.forEach.call(log.querySelectorAll('.helpline-msg[data-role="requester"]'), function (item) {
				item.querySelector('.helpline-mark').textContent = mark(item);
			});
		}
		/* Adds a stored message, or confirms the pending one with the same client id.
		 * Returns false when it was shown already. */
		function add(m) {
			if (m.seq && log.querySelector('.helpline-msg[data-seq="' + Number(m.seq) + '"]')) { return false; }
			var item = byClientId(m.client_id);
			if (!item) {
				item = el('div', { class: 'helpline-msg helpline-' + m.author_role, 'data-role': m.author_role }, [
					el('span', { class: 'helpline-author', text: authorLabel(t, m) }),
					el('p', { class: 'helpline-text', text: m.text }),
					el('span', { class: 'helpline-mark' })
				]);
				if (m.client_id) { item.setAttribute('data-client-id', m.client_id); }
				log.appendChild(item);
			}
			if (m.seq) { item.setAttribute('data-seq', String(m.seq)); }
			if (m.at) { item.setAttribute('data-at', m.at); }
			item.querySelector('.helpline-mark').textContent = mark(item);
			log.scrollTop = log.scrollHeight;
			return true;
		}
		return {
			node: log,
			add: add,
			/* Stored: on the lean wire the ack is all that comes back for one's own message,
			 * so its time (for the downloaded transcript) is the moment it was confirmed. */
			acknowledged: function (clientId, seq) {
				var item = byClientId(clientId);
				if (item && !item.getAttribute('data-seq')) {
					item.setAttribute('data-seq', String(seq));
					if (!item.getAttribute('data-at')) { item.setAttribute('data-at', new Date().toISOString()); }
					refresh();
				}
			},
			removePending: function (clientId) { detach(byClientId(clientId)); },
			has: function (clientId) { return !!byClientId(clientId); },
			readUpTo: function (seq) { readSeq = Math.max(readSeq, seq); refresh(); },
			transcript: function () {
				return Array.prototype.map.call(log.querySelectorAll('.helpline-msg'), function (item) {
					return '[' + (item.getAttribute('data-at') || '') + '] ' + item.querySelector('.helpline-author').textContent + ': ' +
						item.querySelector('.helpline-text').textContent;
				});
			}
		};
	}

	/* What the conversation's status says: queue position, who is with you, the outcome. */
	function statusText(t, st, helperName) {
		if (st.status === 'waiting') { return st.queue_position ? t('helpline-chat-queue-position', st.queue_position) : ''; }
		if (st.status === 'closed') { return t('helpline-chat-closed'); }
		return helperName ? t('helpline-chat-with-helper', helperName) : '';
	}

	function outcomeText(t, st) {
		if (st.status !== 'closed') { return ''; }
		if (st.outcome === 'redirected' && st.redirected_to) {
			return t('helpline-chat-outcome-redirected', st.redirected_to.label, st.redirected_to.link || st.redirected_to.email || '');
		}
		return st.outcome === 'moved_to_talk_page' ? t('helpline-chat-outcome-talk-page') : '';
	}

	/* The composer: Enter sends, Shift+Enter is a new line; over the limit it says so. */
	function Composer(t, limit, o) {
		var input = el('textarea', { id: 'helpline-input', rows: '3' });
		var error = el('p', { class: 'helpline-error', role: 'alert', hidden: 'hidden' });
		var form = el('form', { class: 'helpline-composer' }, [
			el('label', { for: 'helpline-input', text: t('helpline-chat-input-label') }), input, error,
			el('div', { class: 'helpline-actions' }, [el('button', { type: 'submit', class: 'helpline-primary', text: t('helpline-chat-send') })])
		]);
		var lastTyping = 0;
		function showError(text) { error.textContent = text; error.hidden = false; }
		form.addEventListener('submit', function (e) {
			e.preventDefault();
			var value = input.value.trim();
			if (!value) { return; }
			if (codePoints(value) > limit) { showError(errorText(t, { code: 'text_too_long' })); return; }
			input.value = '';
			error.hidden = true;
			o.send(value);
		});
		input.addEventListener('keydown', function (e) {
			if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
		});
		input.addEventListener('input', function () {
			var now = Date.now();
			if (now - lastTyping > TYPING_EVERY_MS && o.typing()) { lastTyping = now; }
		});
		return {
			node: form,
			input: input,
			showError: showError,
			/* Gives a refused text back, before whatever is being written. */
			giveBack: function (text) { input.value = text + (input.value ? '\n' + input.value : ''); }
		};
	}

	/* Offers `lines` as a text file to download. */
	function download(name, lines) {
		var blob = new Blob([lines.join('\n') + '\n'], { type: 'text/plain;charset=utf-8' });
		var a = el('a', { href: URL.createObjectURL(blob), download: name });
		d.body.appendChild(a);
		a.click();
		setTimeout(function () { URL.revokeObjectURL(a.href); detach(a); }, 1000);
	}

	/* ---------- The transcript by e-mail: after the end, when the server sends mail ---------- */

	/* The address serves this one mail (the server forgets it once sent); an e-mail
	 * conversation may leave it empty and gets it at its own address. */
	function TranscriptByMail(t, ask) {
		var input = el('input', { type: 'email', id: 'helpline-transcript-email', autocomplete: 'email', maxlength: '254' });
		var error = el('p', { class: 'helpline-error', role: 'alert', hidden: 'hidden' });
		var send = el('button', { type: 'submit', class: 'helpline-primary', text: t('helpline-transcript-email-send') });
		var form = el('form', { class: 'helpline-transcript-mail', novalidate: 'novalidate' }, [
			el('p', { class: 'helpline-transcript-title', text: t('helpline-transcript-email-legend') }),
			el('label', { for: 'helpline-transcript-email', text: t('helpline-transcript-email-label') }), input, error,
			el('div', { class: 'helpline-actions' }, [send])
		]);
		form.addEventListener('submit', function (e) {
			e.preventDefault();
			send.disabled = true;
			var body = input.value.trim() ? { email: input.value.trim() } : {};
			ask(body).then(function () {
				form.parentNode.replaceChild(el('p', { class: 'helpline-thanked', role: 'status', text: t('helpline-transcript-email-done') }), form);
			}, function (err) {
				error.textContent = errorText(t, err);
				error.hidden = false;
				send.disabled = false;
			});
		});
		return form;
	}

	/* o: settings, t, exitButton, send(text), typing(), end(), thanks(body), transcript(body), shown(), startOver(prefill), site, wiki (WikiTools), emailIfYouLeave */
	function Chat(o) {
		var s = o.settings, t = o.t, helperName = null, thanks = null, mailed = null, typingTimer = null;
		var log = MessageLog(t);
		var composer = Composer(t, s.limits.message_chars, { send: o.send, typing: o.typing });
		var conn = el('p', { class: 'helpline-conn', role: 'status', text: t('helpline-chat-connecting') });
		var state = el('p', { class: 'helpline-state', 'aria-live': 'polite' });
		var urgent = urgentNotice(t, s.emergency_contact, true);
		// While nobody has answered: leaving is all right, the answer will come by mail.
		var leave = el('p', { class: 'helpline-leave', hidden: 'hidden', text: t('helpline-chat-leave-email') });
		var outcome = el('p', { class: 'helpline-outcome', hidden: 'hidden' });
		var typing = el('p', { class: 'helpline-typing', 'aria-live': 'polite' });
		var end = el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-chat-end'), onclick: o.end });
		var tools = el('div', { class: 'helpline-tools' }, [
			end,
			el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-chat-transcript'), onclick: downloadTranscript }),
			el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-chat-hide'), onclick: hide })
		]);
		var node = el('aside', { id: 'helpline-chat', class: 'helpline-chat helpline-root', 'aria-labelledby': 'helpline-chat-title', dir: s.dir, lang: s.lang }, [
			el('div', { class: 'helpline-head' }, [el('h2', { id: 'helpline-chat-title', text: t('helpline-chat-title') }), o.exitButton()]),
			conn, state, leave, urgent, log.node, typing, outcome, composer.node, o.wiki.node, tools
		]);

		function hide() { node.hidden = true; }
		function downloadTranscript() {
			download('helpline-' + o.site + '.txt', [t('helpline-transcript-header', s.site.name), ''].concat(log.transcript()));
		}
		function applyStatus(st) {
			if (st.helper_name !== undefined) { helperName = st.helper_name || null; }
			if (typeof st.read_seq === 'number') { log.readUpTo(st.read_seq); }
			if (st.urgent) { urgent.hidden = false; }
			state.textContent = statusText(t, st, helperName);
			leave.hidden = !(o.emailIfYouLeave && st.status === 'waiting' && !helperName);
			outcome.textContent = outcomeText(t, st);
			outcome.hidden = !outcome.textContent;
			end.hidden = st.status === 'closed';
			o.wiki.applyStatus(st);
			if (st.status === 'closed' && !thanks) {
				thanks = Thanks(t, o.thanks, s.limits.thanks_chars);
				outcome.parentNode.insertBefore(thanks, outcome.nextSibling);
			}
			if (st.status === 'closed' && !mailed && s.channels.indexOf('email') >= 0) {
				mailed = TranscriptByMail(t, o.transcript);
				thanks.parentNode.insertBefore(mailed, thanks.nextSibling);
			}
		}
		function showTyping() {
			typing.textContent = t('helpline-chat-typing', helperName || t('helpline-chat-helper', ''));
			clearTimeout(typingTimer);
			typingTimer = setTimeout(function () { typing.textContent = ''; }, TYPING_SHOWN_MS);
		}
		function setConnection(st) {
			conn.className = 'helpline-conn helpline-conn-' + st;
			conn.textContent = t(st === 'live' ? 'helpline-chat-connected' : st === 'lost' ? 'helpline-chat-reconnecting' : 'helpline-chat-connecting');
		}
		d.body.appendChild(node);
		return {
			node: node,
			log: log,
			composer: composer,
			applyStatus: applyStatus,
			setConnection: setConnection,
			helperMessage: function () { typing.textContent = ''; },
			helperName: function () { return helperName; },
			showTyping: showTyping,
			isShown: function () { return node.isConnected && !node.hidden; },
			show: function () { node.hidden = false; composer.input.focus(); o.shown(); },
			gone: function (unsent) { goneNotice(t, node, [conn, state, composer.node, end, typing], unsent, o.startOver); },
			destroy: function () { clearTimeout(typingTimer); detach(node); }
		};
	}

	/* The server no longer knows this conversation here (4401/4403): say so plainly, keep
	 * every unsent word visible and copyable, and offer a fresh request. */
	function goneNotice(t, sidebar, parts, unsent, startOver) {
		parts.forEach(function (p) { p.hidden = true; });
		var text = unsent.join('\n\n');
		var notice = el('div', { class: 'helpline-gone', role: 'alert' }, [
			el('strong', { text: t('helpline-chat-gone-title') }),
			el('p', { text: t('helpline-chat-gone-text') })
		]);
		if (text) {
			var box = el('textarea', { id: 'helpline-unsent', rows: '4', readonly: 'readonly' });
			box.value = text;
			notice.appendChild(el('label', { for: 'helpline-unsent', text: t('helpline-chat-gone-unsent') }));
			notice.appendChild(box);
		}
		notice.appendChild(el('div', { class: 'helpline-actions' }, [
			el('button', { type: 'button', class: 'helpline-primary', text: t('helpline-chat-gone-new'), onclick: function () { startOver(text); } })
		]));
		var log = sidebar.querySelector('.helpline-log');
		log.parentNode.insertBefore(notice, log);
		notice.querySelector('button').focus();
	}
