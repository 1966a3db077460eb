/* Helpline widget: the Get-help dialog and the chat sidebar.
 * Plain ES5 (MediaWiki 1.39 gadgets must be), no framework, no build step.
 * Every text from people is rendered with textContent, never as HTML. */
(function () {
	'use strict';
	if (window.Helpline) { return; }

	var d = document, w = window;
	var ESCAPE_TWICE_MS = 800;
	var RECONNECT_MAX_MS = 15000;

	/* ---------- small tools ---------- */

	function el(tag, attrs, children) {
		var node = d.createElement(tag);
		var k;
		for (k in attrs || {}) {
			if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] === null || attrs[k] === undefined) { continue; }
			if (k === 'text') { node.textContent = attrs[k]; } else if (k === 'class') { node.className = attrs[k]; } else if (k.indexOf('on') === 0) { node.addEventListener(k.slice(2), attrs[k]); } else { node.setAttribute(k, attrs[k]); }
		}
		(children || []).forEach(function (c) { if (c) { node.appendChild(typeof c === 'string' ? d.createTextNode(c) : c); } });
		return node;
	}

	function randomId() {
		var a = new Uint8Array(12);
		w.crypto.getRandomValues(a);
		return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
	}

	function codePoints(text) { return Array.from(text).length; }

	/* Personal data, as the server screens it: e-mail addresses and phone numbers. */
	function looksPersonal(text) {
		if (/[^\s@]+@[^\s@]+\.[a-z]{2,}/i.test(text)) { return true; }
		var phones = text.match(/(\+|\b)\d[\d \t().\-\/]{5,22}\d\b/g) || [];
		return phones.some(function (p) {
			var digits = p.replace(/\D/g, '').length;
			var seps = (p.match(/[ \-.()\/]/g) || []).length;
			if (digits < 7 || digits > 15 || /^\d{4}[-./]\d{1,2}[-./]\d{1,2}$/.test(p.trim())) { return false; }
			return /^(\+|0)/.test(p.trim()) || seps >= 2;
		});
	}

	/* ---------- the one conversation of this page ---------- */

	var S = {
		cfg: null, lang: 'en', settings: null, noTrace: false,
		id: null, token: null, lastSeq: 0, outbox: [], readSeq: 0,
		ws: null, wsAlive: false, reconnectDelay: 1000, reconnectTimer: null, leaving: false,
		status: null, helperName: null, typingTimer: null,
		dialog: null, sidebar: null, log: null, lastEscape: 0, opener: null
	};

	function storageKey() { return 'helpline:' + S.cfg.site; }

	function save() {
		if (S.noTrace || !S.id) { return; }
		try {
			w.sessionStorage.setItem(storageKey(), JSON.stringify({ id: S.id, token: S.token, outbox: S.outbox }));
		} catch (e) { /* storage full or blocked: the conversation still works on this page */ }
	}

	function forget() {
		try {
			var keys = [];
			for (var i = 0; i < w.sessionStorage.length; i++) { keys.push(w.sessionStorage.key(i)); }
			keys.forEach(function (k) { if (k && k.indexOf('helpline') === 0) { w.sessionStorage.removeItem(k); } });
		} catch (e) { /* nothing stored */ }
	}

	function t(key) {
		var params = Array.prototype.slice.call(arguments, 1);
		var text = (S.settings && S.settings.messages[key]) || key;
		text = text.replace(/\{\{PLURAL:\$(\d+)\|([^|}]*)\|([^}]*)\}\}/g, function (m, n, one, other) {
			return Number(params[n - 1]) === 1 ? one : other;
		});
		return text.replace(/\$(\d+)/g, function (m, n) { return params[n - 1] === undefined ? m : String(params[n - 1]); });
	}

	function api(method, path, body) {
		var headers = { 'Content-Type': 'application/json' };
		if (S.token) { headers.Authorization = 'Bearer ' + S.token; }
		return fetch(S.cfg.server + path, {
			method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
			credentials: 'omit', cache: 'no-store'
		}).then(function (r) {
			return r.json().catch(function () { return {}; }).then(function (json) {
				if (r.ok) { return json; }
				var e = json.error || {};
				throw { status: r.status, code: e.code || 'error', message: e.message, retryAfter: Number(r.headers.get('Retry-After')) || 0 };
			});
		}, function () { throw { status: 0, code: 'network' }; });
	}

	function errorText(e) {
		switch (e.code) {
			case 'network': return t('helpline-error-network');
			case 'rate_limited': return t('helpline-error-rate-limited', e.retryAfter || 30);
			case 'invalid_email': return t('helpline-error-invalid-email');
			case 'email_required': return t('helpline-error-email-required');
			case 'blocked': return t('helpline-error-blocked');
			case 'empty_text': return t('helpline-error-empty-text');
			case 'text_too_long': return t('helpline-error-text-too-long');
			default: return t('helpline-error-generic');
		}
	}

	function loadSettings() {
		if (S.settings) { return Promise.resolve(S.settings); }
		return api('GET', '/v1/sites/' + encodeURIComponent(S.cfg.site) + '/widget?lang=' + encodeURIComponent(S.lang))
			.then(function (settings) { S.settings = settings; return settings; });
	}

	function wikiUser() {
		var mw = w.mw;
		if (!mw || !mw.config || !mw.config.get('wgUserName')) { return null; }
		var temporary = !!(mw.user && typeof mw.user.isTemp === 'function' && mw.user.isTemp());
		return { name: mw.config.get('wgUserName'), temporary: temporary };
	}

	/* ---------- quick exit ---------- */

	function quickExit() {
		S.leaving = true;
		if (S.ws) { try { S.ws.close(1000, 'quick exit'); } catch (e) { /* already closed */ } }
		forget();
		[S.dialog, S.sidebar].forEach(function (n) { if (n && n.parentNode) { n.parentNode.removeChild(n); } });
		w.location.replace(S.cfg.quick_exit_url || 'about:blank');
	}

	function onKey(e) {
		if (e.key !== 'Escape') { return; }
		var now = Date.now();
		if (now - S.lastEscape < ESCAPE_TWICE_MS) { quickExit(); }
		S.lastEscape = now;
	}

	function quickExitButton() {
		return el('button', { type: 'button', class: 'helpline-exit', title: t('helpline-quick-exit-hint'), onclick: quickExit, text: t('helpline-quick-exit') });
	}

	/* ---------- the dialog ---------- */

	function showDialog() {
		var s = S.settings;
		var limit = s.limits.first_message_chars;
		var user = wikiUser();
		var teams = el('ul', { class: 'helpline-teams' }, s.other_teams.map(function (team) {
			var contact = team.link ? el('a', { href: team.link, target: '_blank', rel: 'noopener', text: team.label }) :
				el('a', { href: 'mailto:' + team.email, text: team.label });
			return el('li', {}, [contact, ' — ' + team.description]);
		}));
		var topic = el('select', { id: 'helpline-topic', name: 'topic' }, s.topics.map(function (tp) {
			return el('option', { value: tp.id, text: tp.label });
		}).concat(s.topics.some(function (tp) { return tp.id === 'other'; }) ? [] : [el('option', { value: 'other', text: '…' })]));
		var text = el('textarea', { id: 'helpline-text', name: 'text', rows: '6', required: 'required', autofocus: 'autofocus', 'aria-describedby': 'helpline-counter helpline-privacy' });
		var counter = el('p', { id: 'helpline-counter', class: 'helpline-counter', text: t('helpline-dialog-counter', 0, limit) });
		var limitNotice = el('p', { class: 'helpline-visually-hidden', 'aria-live': 'polite' });
		var personal = el('p', { class: 'helpline-warning', id: 'helpline-personal', role: 'status', hidden: 'hidden', text: t('helpline-dialog-personal-data') });
		var offersEmail = s.channels.indexOf('email') >= 0;
		// Logged-out (and temporary) users may leave an address for a chat too; anyone who
		// chooses to be answered by e-mail must.
		var optionalEmail = offersEmail && (!user || user.temporary);
		var email = offersEmail ? el('input', { id: 'helpline-email', type: 'email', name: 'email', autocomplete: 'email', 'aria-describedby': 'helpline-email-help' }) : null;
		var emailLabel = offersEmail ? el('label', { for: 'helpline-email' }) : null;
		var emailField = offersEmail ? el('div', { class: 'helpline-field' }, [emailLabel, email,
			el('p', { id: 'helpline-email-help', class: 'helpline-help', text: t('helpline-dialog-email-help') })]) : null;
		var channelInputs = [];
		var channelChoice = offersEmail && s.channels.length > 1 ? el('fieldset', { class: 'helpline-channels' },
			[el('legend', { text: t('helpline-dialog-channel-legend') })].concat(s.channels.map(function (c, i) {
				var input = el('input', { type: 'radio', name: 'channel', id: 'helpline-channel-' + c, value: c });
				input.checked = i === 0;
				input.addEventListener('change', channelChanged);
				channelInputs.push(input);
				return el('span', { class: 'helpline-check' }, [input, el('label', { for: input.id, text: t('helpline-dialog-channel-' + c) })]);
			}))) : null;
		function chosenChannel() {
			var chosen = channelInputs.filter(function (i) { return i.checked; })[0];
			return chosen ? chosen.value : s.channels[0];
		}
		function channelChanged() {
			if (!emailField) { return; }
			var byEmail = chosenChannel() === 'email';
			emailField.hidden = !byEmail && !optionalEmail;
			emailLabel.textContent = t(byEmail ? 'helpline-dialog-email-required-label' : 'helpline-dialog-email-label');
			if (byEmail) { email.setAttribute('required', 'required'); } else { email.removeAttribute('required'); }
		}
		var noTrace = el('input', { id: 'helpline-notrace', type: 'checkbox', name: 'notrace', 'aria-describedby': 'helpline-notrace-help' });
		var error = el('p', { class: 'helpline-error', role: 'alert', hidden: 'hidden' });
		var send = el('button', { type: 'submit', class: 'helpline-primary', text: t('helpline-dialog-send') });
		var host = S.cfg.server.replace(/^https?:\/\//, '');

		text.addEventListener('input', function () {
			var chars = Array.from(text.value);
			if (chars.length > limit) {
				text.value = chars.slice(0, limit).join('');
				chars = chars.slice(0, limit);
			}
			counter.textContent = t('helpline-dialog-counter', chars.length, limit);
			var full = chars.length >= limit;
			counter.classList.toggle('helpline-counter-full', full);
			limitNotice.textContent = full ? t('helpline-dialog-counter-full', limit) : '';
			personal.hidden = !looksPersonal(text.value);
		});

		var form = el('form', { method: 'dialog', class: 'helpline-form', novalidate: 'novalidate' }, [
			el('div', { class: 'helpline-head' }, [el('h2', { id: 'helpline-title', text: t('helpline-dialog-title') }), quickExitButton()]),
			el('p', { text: t('helpline-dialog-intro') }),
			el('p', { class: 'helpline-availability', text: s.availability.summary }),
			s.other_teams.length ? el('div', { class: 'helpline-other' }, [el('p', { text: t('helpline-dialog-other-teams') }), teams]) : null,
			s.topics.length ? el('div', { class: 'helpline-field' }, [el('label', { for: 'helpline-topic', text: t('helpline-dialog-topic-label') }), topic]) : null,
			el('div', { class: 'helpline-field' }, [
				el('label', { for: 'helpline-text', text: t('helpline-dialog-text-label') }),
				el('p', { id: 'helpline-privacy', class: 'helpline-privacy', text: t('helpline-dialog-privacy') }),
				text, counter, limitNotice, personal
			]),
			channelChoice,
			emailField,
			user ? el('p', { class: 'helpline-help', text: t('helpline-dialog-logged-in-as', user.name) }) : null,
			el('div', { class: 'helpline-check' }, [noTrace, el('label', { for: 'helpline-notrace', text: t('helpline-dialog-notrace-label') }),
				el('p', { id: 'helpline-notrace-help', class: 'helpline-help', text: t('helpline-dialog-notrace-help') })]),
			el('p', { class: 'helpline-help', text: t('helpline-dialog-service', s.site.name, host) }),
			error,
			el('div', { class: 'helpline-actions' }, [
				el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-dialog-cancel'), onclick: function () { closeDialog(); } }),
				send
			])
		]);

		form.addEventListener('submit', function (e) {
			e.preventDefault();
			error.hidden = true;
			if (!text.value.trim()) {
				error.textContent = errorText({ code: 'empty_text' });
				error.hidden = false;
				text.focus();
				return;
			}
			var channel = chosenChannel();
			if (channel === 'email' && !email.value.trim()) {
				error.textContent = errorText({ code: 'email_required' });
				error.hidden = false;
				email.focus();
				return;
			}
			send.disabled = true;
			send.textContent = t('helpline-dialog-sending');
			var body = { site: S.cfg.site, lang: S.lang, topic: topic.value || 'other', text: text.value, channel: channel };
			if (email && !emailField.hidden && email.value.trim()) { body.email = email.value.trim(); }
			if (user) { body.username = user.name; body.username_temporary = user.temporary; }
			api('POST', '/v1/conversations', body).then(function (created) {
				if (channel === 'email') {
					// No chat: the answer comes by e-mail, and nothing is kept in this browser.
					showEmailConfirmation(form, body.email, created.urgent);
					return;
				}
				S.noTrace = noTrace.checked;
				S.id = created.id;
				S.token = created.token;
				save();
				closeDialog(true);
				showSidebar(created);
				connect();
			}, function (err) {
				// The text stays where it is; only the error is shown.
				error.textContent = errorText(err);
				error.hidden = false;
				send.disabled = false;
				send.textContent = t('helpline-dialog-send');
			});
		});

		S.dialog = el('dialog', { class: 'helpline-dialog', 'aria-labelledby': 'helpline-title', dir: s.dir, lang: s.lang }, [form]);
		S.dialog.addEventListener('close', function () { closeDialog(); });
		d.body.appendChild(S.dialog);
		channelChanged();
		S.dialog.showModal();
		text.focus();
	}

	/* What happens next, after a request to be answered by e-mail: said once, plainly. */
	function showEmailConfirmation(form, address, urgent) {
		var s = S.settings;
		var close = el('button', { type: 'button', class: 'helpline-primary', text: t('helpline-email-confirm-close'), onclick: function () { closeDialog(); } });
		var done = el('div', { class: 'helpline-form helpline-confirmation' }, [
			el('div', { class: 'helpline-head' }, [el('h2', { id: 'helpline-title', tabindex: '-1', text: t('helpline-email-confirm-title') }), quickExitButton()]),
			urgent ? el('div', { class: 'helpline-urgent', role: 'alert' }, [el('strong', { text: t('helpline-urgent-title') }), el('p', { text: s.emergency_contact })]) : null,
			el('p', { text: t('helpline-email-confirm-text', address) }),
			el('p', { text: t('helpline-email-confirm-next') }),
			el('div', { class: 'helpline-actions' }, [close])
		]);
		form.parentNode.replaceChild(done, form);
		done.querySelector('h2').focus();
	}

	function closeDialog(keepFocusInChat) {
		var dialog = S.dialog;
		if (!dialog) { return; }
		S.dialog = null;
		if (dialog.open) { dialog.close(); }
		if (dialog.parentNode) { dialog.parentNode.removeChild(dialog); }
		if (!keepFocusInChat && S.opener && S.opener.focus) { S.opener.focus(); }
	}

	/* ---------- the chat sidebar ---------- */

	var ui = {};

	function showSidebar(initial) {
		if (S.sidebar) { S.sidebar.hidden = false; return; }
		var s = S.settings;
		ui.conn = el('p', { class: 'helpline-conn', role: 'status', text: t('helpline-chat-connecting') });
		ui.state = el('p', { class: 'helpline-state', 'aria-live': 'polite' });
		ui.urgent = el('div', { class: 'helpline-urgent', role: 'alert', hidden: 'hidden' }, [
			el('strong', { text: t('helpline-urgent-title') }), el('p', { text: s.emergency_contact })
		]);
		ui.outcome = el('p', { class: 'helpline-outcome', hidden: 'hidden' });
		S.log = el('div', { class: 'helpline-log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': 'helpline-chat-title', tabindex: '0' });
		ui.typing = el('p', { class: 'helpline-typing', 'aria-live': 'polite' });
		ui.input = el('textarea', { id: 'helpline-input', rows: '3' });
		ui.error = el('p', { class: 'helpline-error', role: 'alert', hidden: 'hidden' });
		ui.send = el('button', { type: 'submit', class: 'helpline-primary', text: t('helpline-chat-send') });
		var composer = el('form', { class: 'helpline-composer' }, [
			el('label', { for: 'helpline-input', text: t('helpline-chat-input-label') }), ui.input, ui.error,
			el('div', { class: 'helpline-actions' }, [ui.send])
		]);
		composer.addEventListener('submit', function (e) {
			e.preventDefault();
			var value = ui.input.value.trim();
			if (!value) { return; }
			if (codePoints(value) > s.limits.message_chars) {
				showChatError(errorText({ code: 'text_too_long' }));
				return;
			}
			ui.input.value = '';
			ui.error.hidden = true;
			queue(value);
		});
		ui.input.addEventListener('keydown', function (e) {
			if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); composer.requestSubmit(); }
		});
		ui.input.addEventListener('input', throttledTyping);
		ui.end = el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-chat-end'), onclick: endConversation });
		S.sidebar = el('aside', { class: 'helpline-chat', 'aria-labelledby': 'helpline-chat-title', dir: s.dir, lang: s.lang }, [
			el('div', { class: 'helpline-head' }, [
				el('h2', { id: 'helpline-chat-title', text: t('helpline-chat-title') }),
				quickExitButton()
			]),
			ui.conn, ui.state, ui.urgent, S.log, ui.typing, ui.outcome, composer,
			el('div', { class: 'helpline-tools' }, [
				ui.end,
				el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-chat-transcript'), onclick: downloadTranscript }),
				el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-chat-hide'), onclick: function () { S.sidebar.hidden = true; } })
			])
		]);
		d.body.appendChild(S.sidebar);
		if (initial) {
			initial.messages.forEach(addMessage);
			applyStatus(initial);
		}
		ui.input.focus();
	}

	function showChatError(text) {
		ui.error.textContent = text;
		ui.error.hidden = false;
	}

	function authorLabel(m) {
		if (m.author_role === 'requester') { return t('helpline-chat-you'); }
		if (m.author_role === 'helper') { return t('helpline-chat-helper', m.author_name || ''); }
		return t('helpline-chat-notice');
	}

	function markText(item) {
		if (item.getAttribute('data-role') !== 'requester') { return ''; }
		var seq = Number(item.getAttribute('data-seq') || 0);
		if (!seq) { return t('helpline-chat-pending'); }
		return seq <= S.readSeq ? t('helpline-chat-read') : t('helpline-chat-delivered');
	}

	function refreshMarks() {
		Array.prototype.forEach.call(S.log.querySelectorAll('.helpline-msg[data-role="requester"]'), function (item) {
			var mark = item.querySelector('.helpline-mark');
			if (mark) { mark.textContent = markText(item); }
		});
	}

	function findByClientId(clientId) {
		return clientId ? S.log.querySelector('.helpline-msg[data-client-id="' + clientId.replace(/[^\w.:-]/g, '') + '"]') : null;
	}

	/* Adds a stored message, or confirms the pending one with the same client id. */
	function addMessage(m) {
		if (m.seq && m.seq <= S.lastSeq && S.log.querySelector('.helpline-msg[data-seq="' + m.seq + '"]')) { return; }
		var item = findByClientId(m.client_id);
		if (!item) {
			item = el('div', { class: 'helpline-msg helpline-' + m.author_role, 'data-role': m.author_role }, [
				el('span', { class: 'helpline-author', text: authorLabel(m) }),
				el('p', { class: 'helpline-text', text: m.text }),
				el('span', { class: 'helpline-mark' })
			]);
			if (m.client_id) { item.setAttribute('data-client-id', m.client_id); }
			S.log.appendChild(item);
		}
		if (m.seq) {
			item.setAttribute('data-seq', String(m.seq));
			S.lastSeq = Math.max(S.lastSeq, m.seq);
		}
		if (m.at) { item.setAttribute('data-at', m.at); }
		item.querySelector('.helpline-mark').textContent = markText(item);
		if (m.client_id && m.seq) { dropFromOutbox(m.client_id); }
		S.log.scrollTop = S.log.scrollHeight;
	}

	function dropFromOutbox(clientId) {
		var before = S.outbox.length;
		S.outbox = S.outbox.filter(function (o) { return o.client_id !== clientId; });
		if (S.outbox.length !== before) { save(); }
	}

	function queue(text) {
		var message = { client_id: randomId(), text: text };
		S.outbox.push(message);
		save();
		addMessage({ author_role: 'requester', text: text, client_id: message.client_id });
		sendFrame({ type: 'message', client_id: message.client_id, text: text });
	}

	function sendFrame(frame) {
		if (S.ws && S.wsAlive) { S.ws.send(JSON.stringify(frame)); return true; }
		return false;
	}

	var lastTypingSent = 0;
	function throttledTyping() {
		var now = Date.now();
		if (now - lastTypingSent > 1500 && sendFrame({ type: 'typing' })) { lastTypingSent = now; }
	}

	function applyStatus(st) {
		S.status = st.status;
		if (st.helper_name !== undefined) { S.helperName = st.helper_name || null; }
		if (st.last_seq) { S.lastSeq = Math.max(S.lastSeq, st.last_seq); }
		if (typeof st.read_seq === 'number') { S.readSeq = Math.max(S.readSeq, st.read_seq); refreshMarks(); }
		if (st.urgent) { ui.urgent.hidden = false; }
		var text = '';
		if (st.status === 'waiting') {
			text = st.queue_position ? t('helpline-chat-queue-position', st.queue_position) : '';
		} else if (st.status === 'closed') {
			text = t('helpline-chat-closed');
		} else if (S.helperName) {
			text = t('helpline-chat-with-helper', S.helperName);
		}
		ui.state.textContent = text;
		ui.outcome.hidden = true;
		if (st.status === 'closed' && st.outcome === 'redirected' && st.redirected_to) {
			var team = st.redirected_to;
			ui.outcome.textContent = t('helpline-chat-outcome-redirected', team.label, team.link || team.email || '');
			ui.outcome.hidden = false;
		} else if (st.status === 'closed' && st.outcome === 'moved_to_talk_page') {
			ui.outcome.textContent = t('helpline-chat-outcome-talk-page');
			ui.outcome.hidden = false;
		}
		ui.end.hidden = st.status === 'closed';
		if (st.status === 'closed') { showThanks(); }
	}

	/* After the end: an optional thank-you and rating, once. Never required. */
	function showThanks() {
		if (ui.thanks) { return; }
		var rating = '';
		var radios = [1, 2, 3, 4, 5].map(function (n) {
			var input = el('input', { type: 'radio', name: 'helpline-rating', id: 'helpline-rating-' + n, value: String(n) });
			input.addEventListener('change', function () { rating = input.value; });
			return el('span', { class: 'helpline-rating' }, [input, el('label', { for: input.id, text: String(n) })]);
		});
		var words = el('textarea', { id: 'helpline-thanks-text', rows: '2', maxlength: '500' });
		var error = el('p', { class: 'helpline-error', role: 'alert', hidden: 'hidden' });
		var send = el('button', { type: 'submit', class: 'helpline-primary', text: t('helpline-thanks-send') });
		ui.thanks = el('form', { class: 'helpline-thanks' }, [
			el('fieldset', {}, [el('legend', { text: t('helpline-thanks-legend') })].concat(radios)),
			el('label', { for: 'helpline-thanks-text', text: t('helpline-thanks-text-label') }), words, error,
			el('div', { class: 'helpline-actions' }, [send])
		]);
		ui.thanks.addEventListener('submit', function (e) {
			e.preventDefault();
			var body = {};
			if (rating) { body.rating = Number(rating); }
			if (words.value.trim()) { body.text = words.value.trim(); }
			if (!body.rating && !body.text) { return; }
			send.disabled = true;
			api('POST', '/v1/conversations/' + encodeURIComponent(S.id) + '/thanks', body).then(done, function (err) {
				if (err.code === 'already_thanked') { done(); return; }
				error.textContent = errorText(err);
				error.hidden = false;
				send.disabled = false;
			});
		});
		function done() {
			var thanked = el('p', { class: 'helpline-thanked', role: 'status', text: t('helpline-thanks-done') });
			ui.thanks.parentNode.replaceChild(thanked, ui.thanks);
		}
		ui.outcome.parentNode.insertBefore(ui.thanks, ui.outcome.nextSibling);
	}

	function setConnection(state) {
		ui.conn.className = 'helpline-conn helpline-conn-' + state;
		ui.conn.textContent = t(state === 'live' ? 'helpline-chat-connected' : state === 'lost' ? 'helpline-chat-reconnecting' : 'helpline-chat-connecting');
	}

	function handleFrame(f) {
		switch (f.type) {
			case 'message':
				addMessage(f);
				if (f.author_role === 'helper') {
					ui.typing.textContent = '';
					sendFrame({ type: 'read', seq: f.seq });
				}
				break;
			case 'ack':
				var item = findByClientId(f.client_id);
				if (item && !item.getAttribute('data-seq')) { item.setAttribute('data-seq', String(f.seq)); refreshMarks(); }
				dropFromOutbox(f.client_id);
				break;
			case 'status':
				if (!S.wsAlive) {
					S.wsAlive = true;
					S.reconnectDelay = 1000;
					setConnection('live');
					flushOutbox();
				}
				applyStatus(f);
				break;
			case 'typing':
				ui.typing.textContent = t('helpline-chat-typing', S.helperName || t('helpline-chat-helper', ''));
				clearTimeout(S.typingTimer);
				S.typingTimer = setTimeout(function () { ui.typing.textContent = ''; }, 4000);
				break;
			case 'read':
				S.readSeq = Math.max(S.readSeq, f.seq);
				refreshMarks();
				break;
			case 'error':
				handleSendError(f);
				break;
		}
	}

	function handleSendError(f) {
		if (!f.client_id) { return; }
		if (f.code === 'rate_limited') {
			setTimeout(flushOutbox, (f.retry_after || 5) * 1000);
			showChatError(errorText({ code: 'rate_limited', retryAfter: f.retry_after }));
			return;
		}
		// Refused for good (too long, closed…): give the text back so nothing is lost.
		var refused = S.outbox.filter(function (o) { return o.client_id === f.client_id; })[0];
		dropFromOutbox(f.client_id);
		var item = findByClientId(f.client_id);
		if (item && item.parentNode) { item.parentNode.removeChild(item); }
		if (refused) { ui.input.value = refused.text + (ui.input.value ? '\n' + ui.input.value : ''); }
		showChatError(f.message || errorText(f));
	}

	/* Sends every message not yet acknowledged, with its own client id: the server
	 * stores each once, whatever happened to earlier attempts. */
	function flushOutbox() {
		S.outbox.slice().forEach(function (o) {
			if (!findByClientId(o.client_id)) { addMessage({ author_role: 'requester', text: o.text, client_id: o.client_id }); }
			sendFrame({ type: 'message', client_id: o.client_id, text: o.text });
		});
	}

	function connect() {
		clearTimeout(S.reconnectTimer);
		S.wsAlive = false;
		setConnection('connecting');
		var url = S.cfg.server.replace(/^http/, 'ws') + '/v1/conversations/' + encodeURIComponent(S.id) + '/live';
		var ws = new WebSocket(url);
		S.ws = ws;
		ws.onopen = function () { ws.send(JSON.stringify({ type: 'hello', token: S.token, after: S.lastSeq })); };
		ws.onmessage = function (e) {
			var frame;
			try { frame = JSON.parse(e.data); } catch (err) { return; }
			handleFrame(frame);
		};
		ws.onclose = function (e) {
			if (S.ws !== ws) { return; }
			S.wsAlive = false;
			if (S.leaving) { return; }
			if (e.code === 4401 || e.code === 4403) {
				// The conversation is gone from the server (or not for this page): start over.
				forget();
				setConnection('lost');
				return;
			}
			setConnection('lost');
			var delay = S.reconnectDelay + Math.floor(Math.random() * 500);
			S.reconnectDelay = Math.min(S.reconnectDelay * 2, RECONNECT_MAX_MS);
			S.reconnectTimer = setTimeout(connect, delay);
		};
	}

	function endConversation() {
		if (!w.confirm(t('helpline-chat-end-confirm'))) { return; }
		api('POST', '/v1/conversations/' + encodeURIComponent(S.id) + '/close').then(applyStatus, function (err) {
			showChatError(errorText(err));
		});
	}

	function downloadTranscript() {
		var lines = [t('helpline-transcript-header', S.settings.site.name), ''];
		Array.prototype.forEach.call(S.log.querySelectorAll('.helpline-msg'), function (item) {
			lines.push('[' + (item.getAttribute('data-at') || '') + '] ' + item.querySelector('.helpline-author').textContent + ': ' +
				item.querySelector('.helpline-text').textContent);
		});
		var blob = new Blob([lines.join('\n') + '\n'], { type: 'text/plain;charset=utf-8' });
		var a = el('a', { href: URL.createObjectURL(blob), download: 'helpline-' + S.cfg.site + '.txt' });
		d.body.appendChild(a);
		a.click();
		setTimeout(function () { URL.revokeObjectURL(a.href); a.parentNode.removeChild(a); }, 1000);
	}

	/* ---------- entry points ---------- */

	function begin(cfg, lang) {
		if (!S.cfg) {
			S.cfg = cfg;
			S.lang = lang || 'en';
			d.addEventListener('keydown', onKey, true);
		}
	}

	function open(cfg, lang) {
		begin(cfg, lang);
		S.opener = d.activeElement;
		loadSettings().then(function () {
			if (S.id) { showSidebar(); S.sidebar.hidden = false; ui.input.focus(); } else if (!S.dialog) { showDialog(); }
		}, function () {
			w.alert(t('helpline-error-network'));
		});
	}

	function restore(cfg, lang) {
		begin(cfg, lang);
		var saved = null;
		try { saved = JSON.parse(w.sessionStorage.getItem(storageKey()) || 'null'); } catch (e) { saved = null; }
		if (!saved || !saved.id || S.id) { return; }
		S.id = saved.id;
		S.token = saved.token;
		S.outbox = saved.outbox || [];
		// History comes first over the socket; unsent messages follow it (flushOutbox).
		loadSettings().then(function () {
			showSidebar();
			connect();
		});
	}

	w.Helpline = { open: open, restore: restore, quickExit: quickExit };
}());
