	/* ---------- ProofOfWork: ALTCHA's challenge, solved in the browser ----------
	 * While many requests wait, the server asks new ones for a proof of work (see
	 * src/proof_of_work.rs): find `number` with SHA-256(salt + number) = challenge. The
	 * widget starts solving when the dialog opens, so that a person who writes for a few
	 * seconds never waits for it. Digests are batched so the page stays responsive. */

	function ProofOfWork(api) {
		var pending = null;
		function hex(buffer) {
			var bytes = new Uint8Array(buffer), out = '';
			for (var i = 0; i < bytes.length; i++) { out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16); }
			return out;
		}
		function solve(c) {
			var subtle = w.crypto && w.crypto.subtle, encoder = new TextEncoder(), BATCH = 500;
			if (!subtle || c.algorithm !== 'SHA-256') { return Promise.reject({ status: 0, code: 'proof_of_work_unsupported' }); }
			function from(start) {
				var tries = [];
				for (var n = start; n < start + BATCH && n <= c.maxnumber; n++) {
					tries.push(subtle.digest('SHA-256', encoder.encode(c.salt + n)));
				}
				return Promise.all(tries).then(function (digests) {
					for (var i = 0; i < digests.length; i++) {
						if (hex(digests[i]) === c.challenge) {
							return w.btoa(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: start + i, salt: c.salt, signature: c.signature }));
						}
					}
					if (start + BATCH > c.maxnumber) { throw { status: 0, code: 'proof_of_work_unsolved' }; }
					return from(start + BATCH);
				});
			}
			return from(0);
		}
		function fresh() { return api('GET', '/v1/challenge').then(solve); }
		return {
			/* Begins solving ahead, when the server asks for a proof now. */
			prepare: function () {
				if (!pending) { pending = fresh(); pending.catch(function () { pending = null; }); }
			},
			/* A solution for one request: the one prepared, else a new one. */
			take: function () {
				var p = pending || fresh();
				pending = null;
				return p;
			}
		};
	}
