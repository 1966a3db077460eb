/* Helpline widget: the Get-help dialog and the chat sidebar.
 * Plain ES5 (MediaWiki 1.39 gadgets must be), no framework, no build step.
 * Every text from people is rendered with textContent, never as HTML.
 *
 * Small modules, each a function of what it needs that keeps its own state:
 *   Texts         the server's localised texts ($1, PLURAL)
 *   Store         this tab's sessionStorage: one conversation and its unsent messages
 *   Api           the requester HTTP API
 *   PersonalData  the server's personal-data rules (settings), applied as the server does
 *   Outbox        messages not yet acknowledged, kept for resending
 *   Connection    the socket: hello and resume, backoff, final close codes
 *   ReadMarks     `read` only for helper messages the person has had on screen
 *   QuickExit     the red button, and Escape twice while the focus is in the widget
 *   Dialog        the request form, then the e-mail confirmation
 *   Chat          the sidebar: MessageLog, Composer, status, tools; Thanks after the end
 *   Session       one conversation: its state, and the frames that change it
 *   Widget        settings, the dialog and the session of this page: open(), restore() */
(function () {
	'use strict';
	if (window.Helpline) { return; }

	var d = document, w = window;
	// The widget's own timing choices (no server rule is copied here: limits and the
	// personal-data rules come with the settings).
	var ESCAPE_TWICE_MS = 800;
	var BACKOFF_START_MS = 1000;
	var BACKOFF_MAX_MS = 15000;
	var TYPING_EVERY_MS = 2000;
	var TYPING_SHOWN_MS = 4000;
	// 4401: no conversation with this id for this token; 4403: origin not allowed.
	// Coming back with the same token fails the same way.
	var FINAL_CLOSE_CODES = [4401, 4403];

	/* ---------- small tools ---------- */

	function el(tag, attrs, children) {
		var node = d.createElement(tag);
		var k;
		for (k in attrs || {}) {
			if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] === null || attrs[k] === undefined) { continue; }
			if (k === 'text') {
				node.textContent = attrs[k];
			} else if (k === 'class') {
				node.className = attrs[k];
			} else if (k.indexOf('on') === 0) {
				node.addEventListener(k.slice(2), attrs[k]);
			} else {
				node.setAttribute(k, attrs[k]);
			}
		}
		(children || []).forEach(function (c) {
			if (c) { node.appendChild(typeof c === 'string' ? d.createTextNode(c) : c); }
		});
		return node;
	}

	function detach(node) {
		if (node && node.parentNode) { node.parentNode.removeChild(node); }
	}

	function randomId() {
		var a = new Uint8Array(12);
		w.crypto.getRandomValues(a);
		return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
	}

	function codePoints(text) { return Array.from(text).length; }

	function wikiUser() {
		var mw = w.mw;
		if (!mw || !mw.config || !mw.config.get('wgUserName')) { return null; }
		var temporary = !!(mw.user && typeof mw.user.isTemp === 'function' && mw.user.isTemp());
		return { name: mw.config.get('wgUserName'), temporary: temporary };
	}

	/* ---------- Texts ---------- */

	function Texts(messages) {
		return function t(key) {
			var params = Array.prototype.slice.call(arguments, 1);
			var text = (messages && messages[key]) || key;
			text = text.replace(/\{\{PLURAL:\$(\d+)\|([^|}]*)\|([^}]*)\}\}/g, function (m, n, one, other) {
				return Number(params[n - 1]) === 1 ? one : other;
			});
			return text.replace(/\$(\d+)/g, function (m, n) { return params[n - 1] === undefined ? m : String(params[n - 1]); });
		};
	}

	function errorText(t, e) {
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

	/* ---------- Store: this tab only, and nothing when the person asked for nothing ---------- */

	function Store(site) {
		var key = 'helpline:' + site;
		var keep = true;
		function session() {
			try { return w.sessionStorage; } catch (e) { return null; }
		}
		function clearAll(storage) {
			var keys = [], i;
			for (i = 0; i < storage.length; i++) { keys.push(storage.key(i)); }
			keys.forEach(function (k) { if (k && k.indexOf('helpline') === 0) { storage.removeItem(k); } });
		}
		return {
			load: function () {
				try { return JSON.parse(session().getItem(key) || 'null'); } catch (e) { return null; }
			},
			save: function (conversation) {
				if (!keep) { return; }
				try { session().setItem(key, JSON.stringify(conversation)); } catch (e) { /* full or blocked: this page still works */ }
			},
			/* The person's choice for this conversation: keep it for reloads, or nothing. */
			keep: function (yes) { keep = yes; if (!yes) { this.clear(); } },
			clear: function () {
				try { session().removeItem(key); } catch (e) { /* nothing stored */ }
			},
			/* Every helpline… key of the page's storage, session and local (quick exit). */
			forgetAll: function () {
				keep = false;
				try { clearAll(w.sessionStorage); } catch (e) { /* blocked */ }
				try { clearAll(w.localStorage); } catch (e) { /* blocked */ }
			}
		};
	}

	/* ---------- Api ---------- */

	function Api(server) {
		return function request(method, path, body, token) {
			var headers = { 'Content-Type': 'application/json' };
			if (token) { headers.Authorization = 'Bearer ' + token; }
			return fetch(server + path, {
				method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
				credentials: 'omit', cache: 'no-store'
			}).then(function (r) {
				return r.json().catch(function () { return {}; }).then(function (json) {
					if (r.ok) { return json; }
					var e = json.error || {};
					throw { status: r.status, code: e.code || 'error', message: e.message, retryAfter: Number(r.headers.get('Retry-After')) || 0 };
				});
			}, function () { throw { status: 0, code: 'network' }; });
		};
	}

	/* ---------- PersonalData: the server's rules, the server's algorithm ----------
	 * `rules` is `personal_data` of the widget settings; see Screener::screen and
	 * looks_like_phone in src/screening/mod.rs, tested on the same cases as the server. */

	function PersonalData(rules) {
		if (!rules) { return function () { return false; }; }
		var email = new RegExp(rules.email, 'iu');
		var link = new RegExp(rules.link, 'giu');
		var candidate = new RegExp(rules.phone.candidate, 'giu');
		var date = new RegExp(rules.phone.date, 'iu');
		var details = rules.details.map(function (r) { return new RegExp(r.pattern, 'iu'); });
		// A letter or digit, `=`, `/` or `#` just before: an id in a link, not a phone number.
		var glue = new RegExp('^[\\p{L}\\p{N}=/#]$', 'u');
		var separator = /[ \-.()\/]/g;

		function ranges(re, text) {
			var found = [], m;
			re.lastIndex = 0;
			while ((m = re.exec(text)) !== null) {
				found.push({ start: m.index, end: m.index + m[0].length, text: m[0] });
				if (!m[0].length) { re.lastIndex++; }
			}
			return found;
		}
		function charBefore(text, index) {
			return index > 0 ? Array.from(text.slice(Math.max(0, index - 2), index)).pop() : '';
		}
		function isPhone(m, links, text) {
			var inLink = links.some(function (l) { return l.start <= m.start && m.end <= l.end; });
			if (inLink || glue.test(charBefore(text, m.start))) { return false; }
			var trimmed = m.text.trim();
			var digits = (trimmed.match(/[0-9]/g) || []).length;
			if (digits < rules.phone.min_digits || digits > rules.phone.max_digits || date.test(trimmed)) { return false; }
			var separators = (trimmed.match(separator) || []).length;
			return /^[+0]/.test(trimmed) || separators >= rules.phone.min_separators;
		}
		return function looksPersonal(text) {
			if (email.test(text)) { return true; }
			var links = ranges(link, text);
			if (ranges(candidate, text).some(function (m) { return isPhone(m, links, text); })) { return true; }
			return details.some(function (re) { return re.test(text); });
		};
	}

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
	 * reconnects with backoff — except after a final close code, when it stops for good. */

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
			socket.onopen = function () { socket.send(JSON.stringify({ type: 'hello', token: o.token, after: o.after() })); };
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

	/* ---------- Dialog ---------- */

	function teamsPart(s, t) {
		if (!s.other_teams.length) { return null; }
		return el('div', { class: 'helpline-other' }, [
			el('p', { text: t('helpline-dialog-other-teams') }),
			el('ul', { class: 'helpline-teams' }, s.other_teams.map(function (team) {
				var contact = team.link ? el('a', { href: team.link, target: '_blank', rel: 'noopener', text: team.label }) :
					el('a', { href: 'mailto:' + team.email, text: team.label });
				return el('li', {}, [contact, ' — ' + team.description]);
			}))
		]);
	}

	function topicPart(s, t) {
		var options = s.topics.map(function (tp) { return el('option', { value: tp.id, text: tp.label }); });
		if (!s.topics.some(function (tp) { return tp.id === 'other'; })) { options.push(el('option', { value: 'other', text: '…' })); }
		var select = el('select', { id: 'helpline-topic', name: 'topic' }, options);
		var node = s.topics.length ? el('div', { class: 'helpline-field' }, [el('label', { for: 'helpline-topic', text: t('helpline-dialog-topic-label') }), select]) : null;
		return { node: node, value: function () { return select.value || 'other'; } };
	}

	/* The text box: counter and hard limit in characters, the live personal-data hint. */
	function textPart(s, t, looksPersonal, prefill) {
		var limit = s.limits.first_message_chars;
		var text = el('textarea', { id: 'helpline-text', name: 'text', rows: '6', required: 'required', 'aria-describedby': 'helpline-counter helpline-privacy' });
		var counter = el('p', { id: 'helpline-counter', class: 'helpline-counter' });
		var limitNotice = el('p', { class: 'helpline-visually-hidden', 'aria-live': 'polite' });
		var personal = el('p', { class: 'helpline-warning', id: 'helpline-personal', role: 'status', hidden: 'hidden', text: t('helpline-dialog-personal-data') });
		function update() {
			var chars = Array.from(text.value);
			if (chars.length > limit) {
				chars = chars.slice(0, limit);
				text.value = chars.join('');
			}
			var full = chars.length >= limit;
			counter.textContent = t('helpline-dialog-counter', chars.length, limit);
			counter.classList.toggle('helpline-counter-full', full);
			limitNotice.textContent = full ? t('helpline-dialog-counter-full', limit) : '';
			personal.hidden = !looksPersonal(text.value);
		}
		text.addEventListener('input', update);
		if (prefill && codePoints(prefill) <= limit) { text.value = prefill; }
		update();
		return {
			input: text,
			node: el('div', { class: 'helpline-field' }, [
				el('label', { for: 'helpline-text', text: t('helpline-dialog-text-label') }),
				el('p', { id: 'helpline-privacy', class: 'helpline-privacy', text: t('helpline-dialog-privacy') }),
				text, counter, limitNotice, personal
			])
		};
	}

	/* How to answer (chat or e-mail) and the address, only when the server offers e-mail.
	 * Logged-out (and temporary) users may leave an address for a chat too; anyone who
	 * chooses to be answered by e-mail must. */
	function channelPart(s, t, user) {
		var offersEmail = s.channels.indexOf('email') >= 0;
		if (!offersEmail) { return { nodes: [], channel: function () { return s.channels[0]; }, email: function () { return ''; }, emailInput: null }; }
		var optional = !user || user.temporary;
		var inputs = [];
		var email = el('input', { id: 'helpline-email', type: 'email', name: 'email', autocomplete: 'email', 'aria-describedby': 'helpline-email-help' });
		var label = el('label', { for: 'helpline-email' });
		var field = el('div', { class: 'helpline-field' }, [label, email, el('p', { id: 'helpline-email-help', class: 'helpline-help', text: t('helpline-dialog-email-help') })]);
		function channel() {
			var chosen = inputs.filter(function (i) { return i.checked; })[0];
			return chosen ? chosen.value : s.channels[0];
		}
		function changed() {
			var byEmail = channel() === 'email';
			field.hidden = !byEmail && !optional;
			label.textContent = t(byEmail ? 'helpline-dialog-email-required-label' : 'helpline-dialog-email-label');
			if (byEmail) { email.setAttribute('required', 'required'); } else { email.removeAttribute('required'); }
		}
		var choice = s.channels.length < 2 ? null : el('fieldset', { class: 'helpline-channels' },
			[el('legend', { text: t('helpline-dialog-channel-legend') })].concat(s.channels.map(function (c, i) {
				var input = el('input', { type: 'radio', name: 'channel', id: 'helpline-channel-' + c, value: c, onchange: changed });
				input.checked = i === 0;
				inputs.push(input);
				return el('span', { class: 'helpline-check' }, [input, el('label', { for: input.id, text: t('helpline-dialog-channel-' + c) })]);
			})));
		changed();
		return {
			nodes: [choice, field],
			channel: channel,
			email: function () { return field.hidden ? '' : email.value.trim(); },
			emailInput: email
		};
	}

	function noTracePart(t) {
		var box = el('input', { id: 'helpline-notrace', type: 'checkbox', name: 'notrace', 'aria-describedby': 'helpline-notrace-help' });
		return {
			node: el('div', { class: 'helpline-check' }, [box, el('label', { for: 'helpline-notrace', text: t('helpline-dialog-notrace-label') }),
				el('p', { id: 'helpline-notrace-help', class: 'helpline-help', text: t('helpline-dialog-notrace-help') })]),
			checked: function () { return box.checked; }
		};
	}

	/* The scrolling middle of the form: what the service is, who is there, the fields. */
	function dialogBody(o, p, user, error) {
		var s = o.settings, t = o.t;
		return el('div', { class: 'helpline-body' }, [
			el('p', { text: t('helpline-dialog-intro') }),
			el('p', { class: 'helpline-availability', text: s.availability.summary }),
			teamsPart(s, t), p.topic.node, p.text.node
		].concat(p.channels.nodes, [
			user ? el('p', { class: 'helpline-help', text: t('helpline-dialog-logged-in-as', user.name) }) : null,
			p.noTrace.node,
			el('p', { class: 'helpline-help', text: t('helpline-dialog-service', s.site.name, o.host) }),
			error
		]));
	}

	/* The request the form describes, or what is missing and the field to go to. */
	function requestFrom(o, p, user) {
		if (!p.text.input.value.trim()) { return { problem: errorText(o.t, { code: 'empty_text' }), field: p.text.input }; }
		var channel = p.channels.channel();
		if (channel === 'email' && !p.channels.email()) { return { problem: errorText(o.t, { code: 'email_required' }), field: p.channels.emailInput }; }
		var request = { site: o.site, lang: o.lang, topic: p.topic.value(), text: p.text.input.value, channel: channel };
		if (p.channels.email()) { request.email = p.channels.email(); }
		if (user) { request.username = user.name; request.username_temporary = user.temporary; }
		return { request: request };
	}

	/* The request form in a native modal <dialog>: a head (title, quick exit), a body that
	 * scrolls, and an action bar that always stays in view (a full-height sheet on phones).
	 * o: settings, t, site, lang, host, looksPersonal, exitButton, prefill, create(body), onChat(created, noTrace), onClose() */
	function Dialog(o) {
		var s = o.settings, t = o.t, user = wikiUser(), closed = false;
		var p = { topic: topicPart(s, t), text: textPart(s, t, o.looksPersonal, o.prefill), channels: channelPart(s, t, user), noTrace: noTracePart(t) };
		var error = el('p', { class: 'helpline-error', role: 'alert', hidden: 'hidden' });
		var send = el('button', { type: 'submit', class: 'helpline-primary', text: t('helpline-dialog-send') });
		var cancel = el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-dialog-cancel'), onclick: function () { close(); } });
		var form = el('form', { method: 'dialog', class: 'helpline-form', novalidate: 'novalidate' }, [
			el('div', { class: 'helpline-head' }, [el('h2', { id: 'helpline-title', text: t('helpline-dialog-title') }), o.exitButton()]),
			dialogBody(o, p, user, error),
			el('div', { class: 'helpline-actions helpline-footer' }, [cancel, send])
		]);
		var dialog = el('dialog', { id: 'helpline-dialog', class: 'helpline-dialog helpline-root', 'aria-labelledby': 'helpline-title', dir: s.dir, lang: s.lang }, [form]);

		function fail(message, field) {
			error.textContent = message;
			error.hidden = false;
			if (field) { field.focus(); }
		}
		function sent(request, created) {
			if (request.channel !== 'email') { o.onChat(created, p.noTrace.checked()); return; }
			var done = emailConfirmation(o, request.email, created.urgent, close);
			form.parentNode.replaceChild(done, form);
			done.querySelector('h2').focus();
		}
		function submit(e) {
			e.preventDefault();
			error.hidden = true;
			var asked = requestFrom(o, p, user);
			if (asked.problem) { fail(asked.problem, asked.field); return; }
			send.disabled = true;
			send.textContent = t('helpline-dialog-sending');
			o.create(asked.request).then(function (created) { sent(asked.request, created); }, function (err) {
				// The text stays where it is; only the error is shown.
				fail(errorText(t, err));
				send.disabled = false;
				send.textContent = t('helpline-dialog-send');
			});
		}
		function close(keepFocus) {
			if (closed) { return; }
			closed = true;
			if (dialog.open) { dialog.close(); }
			detach(dialog);
			o.onClose(keepFocus);
		}
		form.addEventListener('submit', submit);
		dialog.addEventListener('close', function () { close(); });
		d.body.appendChild(dialog);
		dialog.showModal();
		p.text.input.focus();
		return { node: dialog, close: close };
	}

	/* After a request to be answered by e-mail: what happens next, said once. No chat,
	 * and nothing of it is kept in this browser. */
	function emailConfirmation(o, address, urgent, close) {
		var t = o.t;
		return el('div', { class: 'helpline-form helpline-confirmation' }, [
			el('div', { class: 'helpline-head' }, [el('h2', { id: 'helpline-title', tabindex: '-1', text: t('helpline-email-confirm-title') }), o.exitButton()]),
			el('div', { class: 'helpline-body' }, [
				urgent ? urgentNotice(t, o.settings.emergency_contact, false) : null,
				el('p', { text: t('helpline-email-confirm-text', address) }),
				el('p', { text: t('helpline-email-confirm-next') })
			]),
			el('div', { class: 'helpline-actions helpline-footer' }, [
				el('button', { type: 'button', class: 'helpline-primary', text: t('helpline-email-confirm-close'), onclick: function () { close(); } })
			])
		]);
	}

	function urgentNotice(t, contact, hidden) {
		return el('div', { class: 'helpline-urgent', role: 'alert', hidden: hidden ? 'hidden' : null }, [
			el('strong', { text: t('helpline-urgent-title') }), el('p', { text: contact })
		]);
	}

	/* ---------- Thanks: after the end, optional, once ---------- */

	function Thanks(t, sendThanks) {
		var rating = '';
		var radios = [1, 2, 3, 4, 5].map(function (n) {
			var input = el('input', { type: 'radio', name: 'helpline-rating', id: 'helpline-rating-' + n, value: String(n) });
			input.addEventListener('change', function () { rating = input.value; });
			return el('span', { class: 'helpline-rating' }, [input, el('label', { for: input.id, text: String(n) })]);
		});
		var words = el('textarea', { id: 'helpline-thanks-text', rows: '2' });
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
			acknowledged: function (clientId, seq) {
				var item = byClientId(clientId);
				if (item && !item.getAttribute('data-seq')) { item.setAttribute('data-seq', String(seq)); refresh(); }
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

	/* o: settings, t, exitButton, send(text), typing(), end(), thanks(body), shown(), startOver(prefill), site */
	function Chat(o) {
		var s = o.settings, t = o.t, helperName = null, thanks = null, typingTimer = null;
		var log = MessageLog(t);
		var composer = Composer(t, s.limits.message_chars, { send: o.send, typing: o.typing });
		var conn = el('p', { class: 'helpline-conn', role: 'status', text: t('helpline-chat-connecting') });
		var state = el('p', { class: 'helpline-state', 'aria-live': 'polite' });
		var urgent = urgentNotice(t, s.emergency_contact, true);
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
			conn, state, urgent, log.node, typing, outcome, composer.node, tools
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
			outcome.textContent = outcomeText(t, st);
			outcome.hidden = !outcome.textContent;
			end.hidden = st.status === 'closed';
			if (st.status === 'closed' && !thanks) {
				thanks = Thanks(t, o.thanks);
				outcome.parentNode.insertBefore(thanks, outcome.nextSibling);
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

	/* ---------- Session: one conversation in the chat ----------
	 * Its explicit state: the conversation (id, token, last seq shown), and the chat,
	 * outbox, connection and read marks that serve it. `env` is what the widget shares:
	 * cfg, settings, t, store, api, exitButton(), startOver(prefill). */

	function Session(env, created, pending) {
		var s = { env: env, retired: false, conversation: { id: created.id, token: created.token, lastSeq: 0 } };
		s.outbox = Outbox(pending, function (list) {
			if (!s.retired) { env.store.save({ id: s.conversation.id, token: s.conversation.token, outbox: list }); }
		});
		s.chat = Chat({
			settings: env.settings, t: env.t, site: env.cfg.site, exitButton: env.exitButton,
			send: function (text) { sendMessage(s, text); },
			typing: function () { return s.connection.send({ type: 'typing' }); },
			end: function () { endConversation(s); },
			shown: function () { s.marks.check(); },
			startOver: env.startOver,
			thanks: function (body) { return conversationCall(s, 'thanks', body); }
		});
		s.connection = Connection({
			url: env.cfg.server.replace(/^http/, 'ws') + '/v1/conversations/' + encodeURIComponent(created.id) + '/live',
			token: created.token, outbox: s.outbox,
			after: function () { return s.conversation.lastSeq; },
			onLive: function () { showPending(s); },
			onFrame: function (f) { onFrame(s, f); },
			onState: s.chat.setConnection,
			onGone: function () { gone(s); }
		});
		s.marks = ReadMarks(s.connection.send, function () { return s.chat.isShown() && d.visibilityState !== 'hidden'; });
		env.store.save({ id: created.id, token: created.token, outbox: s.outbox.all() });
		if (created.messages) { created.messages.forEach(function (m) { showMessage(s, m); }); }
		if (created.status) { s.chat.applyStatus(created); }
		s.connection.start();
		s.chat.composer.input.focus();
		return s;
	}

	function conversationCall(s, what, body) {
		return s.env.api('POST', '/v1/conversations/' + encodeURIComponent(s.conversation.id) + '/' + what, body, s.conversation.token);
	}

	function showMessage(s, m) {
		if (m.seq) { s.conversation.lastSeq = Math.max(s.conversation.lastSeq, m.seq); }
		if (s.chat.log.add(m) && m.author_role === 'helper' && m.seq) { s.marks.rendered(m.seq); }
		if (m.client_id && m.seq) { s.outbox.remove(m.client_id); }
	}

	/* Unsent messages (from before a reload) are shown after the history, as pending. */
	function showPending(s) {
		s.outbox.all().forEach(function (m) {
			if (!s.chat.log.has(m.client_id)) { s.chat.log.add({ author_role: 'requester', text: m.text, client_id: m.client_id }); }
		});
		s.marks.check();
	}

	function sendMessage(s, text) {
		var message = s.connection.queue(text);
		if (message) { s.chat.log.add({ author_role: 'requester', text: text, client_id: message.client_id }); }
	}

	function onFrame(s, f) {
		switch (f.type) {
			case 'message':
				showMessage(s, f);
				if (f.author_role === 'helper') { s.chat.helperMessage(); }
				break;
			case 'ack':
				s.chat.log.acknowledged(f.client_id, f.seq);
				s.outbox.remove(f.client_id);
				break;
			case 'status':
				if (f.last_seq) { s.conversation.lastSeq = Math.max(s.conversation.lastSeq, f.last_seq); }
				s.chat.applyStatus(f);
				break;
			case 'typing': s.chat.showTyping(); break;
			case 'read': s.chat.log.readUpTo(f.seq); break;
			case 'error': refused(s, f); break;
		}
	}

	function refused(s, f) {
		var t = s.env.t;
		if (!f.client_id) { return; }
		if (f.code === 'rate_limited') {
			s.connection.retryLater(f.retry_after || 5);
			s.chat.composer.showError(errorText(t, { code: 'rate_limited', retryAfter: f.retry_after }));
			return;
		}
		// Refused for good (too long, closed…): the text goes back into the box.
		var message = s.outbox.remove(f.client_id);
		s.chat.log.removePending(f.client_id);
		if (message) { s.chat.composer.giveBack(message.text); }
		s.chat.composer.showError(f.message || errorText(t, f));
	}

	/* 4401/4403: no coming back with this token. Nothing more is queued, the stored
	 * conversation is dropped, and what was not sent stays on screen. */
	function gone(s) {
		var unsent = s.outbox.all().map(function (m) { return m.text; });
		var typed = s.chat.composer.input.value.trim();
		if (typed) { unsent.push(typed); }
		s.retired = true;
		s.env.store.clear();
		s.marks.stop();
		s.chat.gone(unsent);
	}

	function endConversation(s) {
		if (!w.confirm(s.env.t('helpline-chat-end-confirm'))) { return; }
		conversationCall(s, 'close').then(s.chat.applyStatus, function (err) {
			s.chat.composer.showError(errorText(s.env.t, err));
		});
	}

	function retire(s) {
		s.retired = true;
		s.connection.stop();
		s.marks.stop();
		s.chat.destroy();
	}

	/* ---------- Widget: the one conversation of this page ---------- */

	function Widget(cfg, lang) {
		var my = { cfg: cfg, lang: lang, store: Store(cfg.site), api: Api(cfg.server), settings: null, loading: null, t: Texts({}),
			looksPersonal: null, dialog: null, session: null, opener: null };
		my.exit = QuickExit(cfg.quick_exit_url, function () {
			return [my.dialog && my.dialog.node, my.session && my.session.chat.node];
		}, function () {
			if (my.session) { my.session.connection.stop(); }
			my.store.forgetAll();
			detach(my.dialog && my.dialog.node);
			detach(my.session && my.session.chat.node);
		});
		return {
			open: function () {
				my.opener = d.activeElement;
				loadSettings(my).then(function () {
					if (my.session) { my.session.chat.show(); } else if (!my.dialog) { showDialog(my, ''); }
				}, function () { w.alert(my.t('helpline-error-network')); });
			},
			restore: function () {
				var saved = my.store.load();
				if (!saved || !saved.id || my.session) { return; }
				// History comes first over the socket; unsent messages follow it.
				loadSettings(my).then(function () { my.session = Session(env(my), { id: saved.id, token: saved.token }, saved.outbox || []); });
			},
			quickExit: function () { my.exit.leave(); }
		};
	}

	function loadSettings(my) {
		if (!my.loading) {
			my.loading = my.api('GET', '/v1/sites/' + encodeURIComponent(my.cfg.site) + '/widget?lang=' + encodeURIComponent(my.lang)).then(function (settings) {
				my.settings = settings;
				my.t = Texts(settings.messages);
				my.looksPersonal = PersonalData(settings.personal_data);
				return settings;
			});
			my.loading.catch(function () { my.loading = null; });
		}
		return my.loading;
	}

	/* What a session needs of the widget. */
	function env(my) {
		return {
			cfg: my.cfg, settings: my.settings, t: my.t, store: my.store, api: my.api,
			exitButton: function () { return my.exit.button(my.t); },
			startOver: function (prefill) { showDialog(my, prefill); }
		};
	}

	/* The request dialog. From a gone conversation (`prefill` = its unsent words), that
	 * chat stays until the new one starts. */
	function showDialog(my, prefill) {
		if (my.dialog) { return; }
		my.dialog = Dialog({
			settings: my.settings, t: my.t, site: my.cfg.site, lang: my.lang, host: my.cfg.server.replace(/^https?:\/\//, ''),
			looksPersonal: my.looksPersonal, prefill: prefill, exitButton: function () { return my.exit.button(my.t); },
			create: function (body) { return my.api('POST', '/v1/conversations', body); },
			onChat: function (created, noTrace) {
				my.store.keep(!noTrace);
				if (my.session) { retire(my.session); }
				my.dialog.close(true);
				my.session = Session(env(my), created, []);
			},
			onClose: function (keepFocus) {
				my.dialog = null;
				if (!keepFocus && my.opener && my.opener.focus && my.opener.isConnected) { my.opener.focus(); }
			}
		});
	}

	var widget = null;
	function instance(cfg, lang) {
		if (!widget) { widget = Widget(cfg, lang || 'en'); }
		return widget;
	}

	w.Helpline = {
		open: function (cfg, lang) { instance(cfg, lang).open(); },
		restore: function (cfg, lang) { instance(cfg, lang).restore(); },
		quickExit: function () { if (widget) { widget.quickExit(); } }
	};
}());
