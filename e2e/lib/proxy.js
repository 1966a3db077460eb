// A TCP proxy on a free loopback port, as a load balancer in front of several nodes: each
// new connection goes to the current target; when a target's connection ends (the node
// died), the client's connection is ended too, and the client reconnects — to whichever
// target is current by then.
import { createServer, connect } from 'node:net';

export class Proxy {
	/** `target`: the base URL of the node to send connections to first. */
	constructor(target) {
		this.target = new URL(target);
		this.connections = new Set();
		this.server = createServer((client) => {
			const upstream = connect(Number(this.target.port), this.target.hostname);
			const pair = { client, upstream };
			this.connections.add(pair);
			const end = () => {
				client.destroy();
				upstream.destroy();
				this.connections.delete(pair);
			};
			for (const socket of [client, upstream]) {
				socket.on('error', end);
				socket.on('close', end);
			}
			client.pipe(upstream);
			upstream.pipe(client);
		});
	}

	/** Resolves once listening; `url` is then the proxy's base URL. */
	async start() {
		await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		this.url = `http://127.0.0.1:${this.server.address().port}`;
		return this;
	}

	/**
	 * What the nodes send back on the open connections is dropped from now on (requests
	 * still go through): as when a node stores what it is sent but dies before its answers
	 * leave. (Read and dropped, not paused: a paused socket would never see its node go.)
	 */
	dropReplies() {
		for (const { client, upstream } of this.connections) {
			upstream.unpipe(client);
			upstream.on('data', () => {});
			upstream.resume();
		}
	}

	/** New connections go to `target` from now on; open ones are left as they are. */
	switchTo(target) {
		this.target = new URL(target);
	}

	async stop() {
		for (const { client, upstream } of this.connections) {
			client.destroy();
			upstream.destroy();
		}
		await new Promise((resolve) => this.server.close(resolve));
	}
}
