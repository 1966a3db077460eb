	/* Part 5 of the widget script (web/widget/helpline/, joined in name order): Session and Widget, and what the page gets: window.Helpline. */

	/* ---------- Session: one conversation in the chat ----------
	 * Its explicit state: the conversation (id, token, last seq shown), and the chat,
	 * outbox, connection and read marks that serve it. `env` is what the widget shares:
	 * cfg, settings, t, store, api, exitButton(), startOver(prefill). */

	function Session(env, created, pending) {
		var s = { env: env, retired: false, conversation: { id: created.id, token: created.token, lastSeq: 0 } };
		// Kept with the tab's conversation, so that a reload still says it.
		s.emailIfYouLeave = !!created.email_if_you_leave;
		s.outbox = Outbox(pending, function (list) {
			if (!s.retired) { env.store.save({ id: s.conversation.id, token: s.conversation.token, outbox: list, emailIfYouLeave: s.emailIfYouLeave }); }
		});
		s.wiki = WikiTools({
			t: env.t, settings: env.settings,
			call: function (method, what, body) {
				return env.api(method, '/v1/conversations/' + encodeURIComponent(s.conversation.id) + '/' + what, body, s.conversation.token);
			},
			helperName: function () { return s.chat ? s.chat.helperName() : null; }
		});
		s.chat = Chat({
			settings: env.settings, t: env.t, site: env.cfg.site, exitButton: env.exitButton, wiki: s.wiki,
			emailIfYouLeave: s.emailIfYouLeave,
			send: function (text) { sendMessage(s, text); },
			typing: function () { return s.connection.send({ type: 'typing' }); },
			end: function () { endConversation(s); },
			shown: function () { s.marks.check(); },
			startOver: env.startOver,
			thanks: function (body) { return conversationCall(s, 'thanks', body); },
			transcript: function (body) { return conversationCall(s, 'transcript', body); }
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
		env.store.save({ id: created.id, token: created.token, outbox: s.outbox.all(), emailIfYouLeave: s.emailIfYouLeave });
		if (created.messages) { created.messages.forEach(function (m) { showMessage(s, m); }); }
		if (created.status) { s.chat.applyStatus(created); }
		s.connection.start();
		s.wiki.checkMove();
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
				if (f.author_role === 'system') { s.wiki.systemMessage(f); }
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
		my.proof = ProofOfWork(my.api);
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
				loadSettings(my).then(function () { my.session = Session(env(my), { id: saved.id, token: saved.token, email_if_you_leave: saved.emailIfYouLeave }, saved.outbox || []); });
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

	/* A new request, with a proof of work when the server asks for one: said by the
	 * settings (then solved since the dialog opened), or by the answer to a request sent
	 * without one. A solution that expired while the person wrote is solved again, once. */
	function createRequest(my, body) {
		function withProof(again) {
			return my.proof.take().then(function (proof) {
				body.proof_of_work = proof;
				return my.api('POST', '/v1/conversations', body);
			}).catch(function (e) {
				if (e.code === 'proof_of_work_invalid' && !again) { return withProof(true); }
				throw e;
			});
		}
		if (my.settings.proof_of_work) { return withProof(false); }
		return my.api('POST', '/v1/conversations', body).catch(function (e) {
			if (e.code === 'proof_of_work_required') { return withProof(false); }
			throw e;
		});
	}

	/* The request dialog. From a gone conversation (`prefill` = its unsent words), that
	 * chat stays until the new one starts. */
	function showDialog(my, prefill) {
		if (my.dialog) { return; }
		if (my.settings.proof_of_work) { my.proof.prepare(); }
		my.dialog = Dialog({
			settings: my.settings, t: my.t, site: my.cfg.site, lang: my.lang, host: my.cfg.server.replace(/^https?:\/\//, ''),
			looksPersonal: my.looksPersonal, prefill: prefill, exitButton: function () { return my.exit.button(my.t); },
			create: function (body) { return createRequest(my, body); },
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
