/* Helpline console: live updates for the server-rendered pages.
 * The pages work without this script (every action is a form). With it: the dashboard
 * and the conversation refresh themselves from the helper socket, forms submit without a
 * page load, typing reaches the requester, and new requests can ring. */
(function () {
	'use strict';
	var main = document.getElementById('main');
	var page = main && main.getAttribute('data-page');
	if (!page) { return; }
	var texts = JSON.parse(document.body.getAttribute('data-texts') || '{}');
	var csrf = (document.querySelector('input[name="csrf"]') || {}).value || '';
	var conversation = main.getAttribute('data-conversation');
	var connection = document.getElementById('connection');
	var SIGNIN = '/console/signin';
	// The dashboard's live part alone, with the page's own filters.
	var LIVE_URL = '/console/live' + location.search;
	// A burst of queue events makes one fetch of the dashboard's live part: this long after
	// the last event, and no later than LIVE_MAX_WAIT_MS after the first.
	var LIVE_DEBOUNCE_MS = 300;
	var LIVE_MAX_WAIT_MS = 2000;
	var RETRY_START_MS = 1000;
	var RETRY_MAX_MS = 15000;
	var socket = null;
	var retry = RETRY_START_MS;
	var refreshing = false;
	var again = false;

	function t(key) { return texts[key] || key; }

	function showConnection(live) {
		connection.hidden = false;
		connection.textContent = live ? t('live') : t('reconnecting');
		connection.className = 'conn ' + (live ? 'conn-live' : 'conn-lost');
	}

	/* The session is gone (expired, or signed out elsewhere): to the sign-in page, instead
	 * of retrying for ever. */
	function isSignIn(url) {
		try { return new URL(url, location.href).pathname === SIGNIN; } catch (e) { return false; }
	}
	function signedOut(r) {
		return r.status === 401 || r.type === 'opaqueredirect' || (r.redirected && isSignIn(r.url));
	}
	function toSignIn() { location.href = SIGNIN; }

	/* Resolves true while this browser is still signed in (or the server cannot be reached
	 * to tell); goes to the sign-in page when it is not. */
	function checkSession() {
		return fetch('/console/session', { credentials: 'same-origin', redirect: 'manual', cache: 'no-store' })
			.then(function (r) {
				if (signedOut(r)) { toSignIn(); return false; }
				return true;
			}, function () { return true; });
	}

	/* Calls `run` (which returns a promise) once per burst of `schedule()` calls: `delay`
	 * after the last call, no later than `maxWait` after the first, never two at once —
	 * calls during a run make exactly one more run after it. */
	function debounced(run, delay, maxWait) {
		var timer = null, first = 0, running = false, pending = false;
		function fire() {
			timer = null;
			first = 0;
			if (running) { pending = true; return; }
			running = true;
			run().then(done, done);
		}
		function done() {
			running = false;
			if (pending) { pending = false; schedule(); }
		}
		function schedule() {
			var now = Date.now();
			if (!first) { first = now; }
			clearTimeout(timer);
			timer = setTimeout(fire, Math.max(0, Math.min(delay, first + maxWait - now)));
		}
		return schedule;
	}

	/* The dashboard: only its live part is fetched and replaced. */
	function fetchLive() {
		return fetch(LIVE_URL, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/html' } })
			.then(function (r) {
				if (signedOut(r)) { toSignIn(); return null; }
				return r.ok ? r.text() : null;
			})
			.then(function (html) {
				var live = document.getElementById('live');
				if (html === null || !live) { return; }
				live.innerHTML = html;
				bindForms(live);
				localTimes(live);
			})
			.catch(function () { /* the socket's reconnect will refresh again */ });
	}
	var refreshLive = debounced(fetchLive, LIVE_DEBOUNCE_MS, LIVE_MAX_WAIT_MS);

	/* A conversation: fetches this page again and swaps in its live parts: one rendering
	 * path, the server's. The controls are swapped only when their state changed, so a
	 * reply being typed is never lost. */
	function refresh() {
		if (refreshing) { again = true; return; }
		refreshing = true;
		fetch(location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
			.then(function (r) {
				if (signedOut(r)) { toSignIn(); throw new Error('signed out'); }
				return r.text();
			})
			.then(function (html) {
				var next = new DOMParser().parseFromString(html, 'text/html');
				swap('live', next, true);
				swap('controls', next, false);
				var nextMain = next.getElementById('main');
				if (nextMain) { main.setAttribute('data-last-seq', nextMain.getAttribute('data-last-seq') || '0'); }
				markRead();
			})
			.catch(function () { /* the socket's reconnect will refresh again */ })
			.then(function () {
				refreshing = false;
				if (again) { again = false; refresh(); }
			});
	}

	function swap(id, next, always) {
		var here = document.getElementById(id);
		var there = next.getElementById(id);
		if (!here || !there) { return; }
		if (always || here.getAttribute('data-state') !== there.getAttribute('data-state')) {
			here.replaceWith(document.adoptNode(there));
			bindForms(document.getElementById(id));
			localTimes(document.getElementById(id));
		}
	}

	/* The dashboard fetches its live part, debounced; a conversation page itself, at once
	 * (`refresh` folds a burst of events into one more fetch). */
	function soon() {
		if (page === 'dashboard') { refreshLive(); } else { refresh(); }
	}

	function send(frame) {
		if (socket && socket.readyState === 1) { socket.send(JSON.stringify(frame)); }
	}

	function markRead() {
		if (!conversation) { return; }
		var seq = Number(main.getAttribute('data-last-seq') || 0);
		if (seq > 0) { send({ type: 'read', conversation: conversation, seq: seq }); }
	}

	var typingHide = null;
	function onFrame(frame) {
		switch (frame.type) {
			case 'ready':
				// The second `ready` answers the hello below: the lean wire is on; nothing to redo.
				if (frame.wire) { break; }
				showConnection(true);
				retry = RETRY_START_MS;
				if (conversation) {
					var after = Number(main.getAttribute('data-last-seq') || 0);
					send({ type: 'open', conversation: conversation, after: after });
				}
				soon();
				break;
			case 'queue':
				if (page === 'dashboard') { soon(); }
				if (frame.event === 'new') { ring(frame.conversation, 'new-request'); }
				if (frame.event === 'offered') { ring(frame.conversation, 'offered'); }
				if (conversation && frame.conversation && frame.conversation.id === conversation) { soon(); }
				break;
			case 'resync':
				soon();
				break;
			case 'message':
			case 'status':
			case 'gone':
				if (frame.conversation === conversation) { soon(); }
				break;
			case 'viewers':
				if (frame.conversation === conversation) {
					var me = main.getAttribute('data-me');
					var others = (frame.helpers || []).filter(function (name) { return name !== me; });
					var viewers = document.getElementById('viewers');
					// A function, not a string: a name holding $& or $' must not be read as a pattern.
					if (viewers) { viewers.textContent = others.length ? t('also-viewing').replace('$1', function () { return others.join(', '); }) : ''; }
				}
				break;
			case 'typing':
				if (frame.conversation === conversation) {
					var typing = document.getElementById('typing');
					if (typing) {
						typing.textContent = t('typing');
						clearTimeout(typingHide);
						typingHide = setTimeout(function () { typing.textContent = ''; }, 4000);
					}
				}
				break;
		}
	}

	function connect() {
		var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/helper/live';
		socket = new WebSocket(url);
		// Signed in by the cookie at the upgrade; the hello only asks for the lean wire (no
		// echo of one's own frames, no status for a turn change: the page shows neither).
		socket.onopen = function () { socket.send(JSON.stringify({ type: 'hello', wire: 2 })); };
		socket.onmessage = function (e) {
			var frame;
			// Only a frame that is not JSON is ignored; an error in handling one surfaces
			// (window.onerror, the browser's console) instead of vanishing.
			try { frame = JSON.parse(e.data); } catch (err) { return; }
			onFrame(frame);
		};
		socket.onclose = function () {
			showConnection(false);
			// Signed out or expired: the sign-in page. Otherwise back, with backoff.
			checkSession().then(function (signedIn) {
				if (!signedIn) { return; }
				setTimeout(connect, retry);
				retry = Math.min(retry * 2, RETRY_MAX_MS);
			});
		};
	}

	/* Forms: submitted in the background; errors shown inline; the page refreshes. */
	function bindForms(root) {
		Array.prototype.forEach.call((root || document).querySelectorAll('form[data-action]'), function (form) {
			if (form.getAttribute('data-bound')) { return; }
			form.setAttribute('data-bound', '1');
			form.addEventListener('submit', function (e) {
				e.preventDefault();
				var body = new URLSearchParams(new FormData(form, e.submitter));
				var error = document.getElementById('action-error');
				fetch(form.action, {
					method: 'POST', credentials: 'same-origin', body: body,
					headers: { Accept: 'application/json', 'X-CSRF-Token': csrf }
				}).then(function (r) {
					if (signedOut(r)) { toSignIn(); return; }
					return r.json().catch(function () { return {}; }).then(function (json) {
						if (!r.ok) { throw new Error((json.error && json.error.message) || String(r.status)); }
						if (error) { error.hidden = true; }
						var text = form.querySelector('textarea');
						if (text) { text.value = ''; }
						var id = form.querySelector('input[name="client_id"]');
						if (id) { id.value = id.value.charAt(0) + '-' + Math.random().toString(36).slice(2) + Date.now().toString(36); }
						if (/\/release$/.test(form.action)) { location.href = '/console'; return; }
						if (form.classList.contains('presence')) { location.reload(); return; }
						if (form.closest('#wiki-context')) { loadWikiContext(); }
						soon();
					});
				}).catch(function (err) {
					if (error) { error.textContent = err.message; error.hidden = false; }
				});
			});
		});
		Array.prototype.forEach.call((root || document).querySelectorAll('textarea[data-typing]'), function (area) {
			var last = 0;
			area.addEventListener('input', function () {
				var now = Date.now();
				if (now - last > 2000) { last = now; send({ type: 'typing', conversation: conversation }); }
			});
			area.addEventListener('keydown', function (e) {
				if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); area.form.requestSubmit(); }
			});
		});
	}

	/* Opt-in notifications and a short tone for new requests. One AudioContext for the
	 * page, made on the first user gesture (browsers keep a context made without one
	 * suspended) and resumed when the browser suspended it; a new one per ring would stop
	 * sounding after a few. */
	var notify = document.getElementById('notify');
	var ringing = false;
	var audio = null;
	function audioContext() {
		var Context = window.AudioContext || window.webkitAudioContext;
		if (!audio && Context) { audio = new Context(); }
		if (audio && audio.state === 'suspended') { audio.resume(); }
		return audio;
	}
	function unlockAudio() {
		if (ringing) { audioContext(); }
	}
	document.addEventListener('pointerdown', unlockAudio, true);
	document.addEventListener('keydown', unlockAudio, true);
	if (notify && 'Notification' in window) {
		notify.hidden = false;
		ringing = Notification.permission === 'granted';
		notify.setAttribute('aria-pressed', String(ringing));
		notify.addEventListener('click', function () {
			audioContext();
			Notification.requestPermission().then(function (p) {
				ringing = p === 'granted';
				notify.setAttribute('aria-pressed', String(ringing));
			});
		});
	}
	function tone() {
		if (!audio) { return; }
		if (audio.state === 'suspended') { audio.resume(); }
		var oscillator = audio.createOscillator();
		oscillator.frequency.value = 660;
		oscillator.connect(audio.destination);
		oscillator.start();
		oscillator.stop(audio.currentTime + 0.15);
	}
	function ring(item, what) {
		if (!ringing || !item) { return; }
		try {
			new Notification(t(what), { body: item.preview || '', tag: 'helpline-' + item.id });
		} catch (e) { /* notifications are a courtesy */ }
		tone();
	}

	/* Times in the helper's own zone and language. */
	function localTimes(root) {
		Array.prototype.forEach.call((root || document).querySelectorAll('.message time[datetime]'), function (el) {
			var when = new Date(el.getAttribute('datetime'));
			if (!isNaN(when)) { el.textContent = when.toLocaleTimeString(document.documentElement.lang, { hour: '2-digit', minute: '2-digit' }); }
		});
	}

	/* Canned replies: search, click or Alt+1…9 to insert at the cursor, "/" to search. */
	function visibleReplies() {
		return Array.prototype.filter.call(document.querySelectorAll('#reply-list li'), function (li) { return !li.hidden; });
	}
	function insertReply(text) {
		var area = document.getElementById('reply-text');
		if (!area || !text) { return; }
		var start = area.selectionStart, end = area.selectionEnd;
		area.value = area.value.slice(0, start) + text + area.value.slice(end);
		area.focus();
		area.selectionStart = area.selectionEnd = start + text.length;
	}
	document.addEventListener('click', function (e) {
		var button = e.target.closest && e.target.closest('button.insert');
		if (button) { insertReply(button.getAttribute('data-insert')); }
	});
	document.addEventListener('input', function (e) {
		if (e.target.id !== 'reply-search') { return; }
		var words = e.target.value.toLowerCase().split(/\s+/).filter(Boolean);
		Array.prototype.forEach.call(document.querySelectorAll('#reply-list li'), function (li) {
			var hay = li.getAttribute('data-search') || '';
			li.hidden = !words.every(function (w) { return hay.indexOf(w) >= 0; });
		});
	});
	document.addEventListener('keydown', function (e) {
		var inField = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
		if (e.key === '/' && !inField && document.getElementById('reply-search')) {
			e.preventDefault();
			document.getElementById('reply-search').focus();
		} else if (e.key === 'Enter' && e.target.id === 'reply-search') {
			e.preventDefault();
			var first = visibleReplies()[0];
			if (first) { insertReply(first.querySelector('button.insert').getAttribute('data-insert')); }
		} else if (e.altKey && /^[1-9]$/.test(e.key)) {
			var nth = visibleReplies()[Number(e.key) - 1];
			if (nth) { e.preventDefault(); insertReply(nth.querySelector('button.insert').getAttribute('data-insert')); }
		}
	});

	// The requester's wiki context comes after the page: a slow wiki never holds it up.
	function loadWikiContext() {
		var panel = document.getElementById('wiki-context');
		if (!panel || !panel.getAttribute('data-src')) { return; }
		fetch(panel.getAttribute('data-src'), { credentials: 'same-origin' })
			.then(function (r) { return r.ok ? r.text() : null; })
			.then(function (html) {
				if (!html) { return; }
				panel.innerHTML = html;
				bindForms(panel);
				localTimes(panel);
			})
			.catch(function () { /* the link in the panel still leads there */ });
	}

	bindForms(document);
	localTimes(document);
	loadWikiContext();
	connect();
	if (conversation) { markRead(); }
})();
