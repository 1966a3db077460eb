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
 *   Widget        settings, the dialog and the session of this page: open(), restore()
 *
 * The modules live in the files of web/widget/helpline/, joined in name order into this
 * one script (the server does it, `widget::WIDGET_JS`; no build step): this first part
 * opens the closure they share, the last one closes it. */
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
			case 'not_closed': return t('helpline-error-not-closed');
			case 'too_many_transcripts': return t('helpline-error-too-many-transcripts');
			case 'not_emailable': return t('helpline-error-not-emailable');
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
