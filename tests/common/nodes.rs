//! Several nodes of one service on one PostgreSQL, in the test's process.

use helpline::app::Server;

use super::{Backend, TestApp};

impl TestApp {
    /// A second node of the same service: another server on the same database (and data
    /// directory, for the same secret), with the same helpers' tokens. Only on
    /// PostgreSQL; stop it before this one goes (declare it after).
    pub async fn another_node(&self) -> TestApp {
        assert_eq!(self.backend, Backend::Postgres, "several nodes share a PostgreSQL database");
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().unwrap();
        let server = Server::start_with_clock(config.clone(), self.clock.clone()).await.unwrap();
        TestApp {
            url: server.url(),
            backend: self.backend,
            client: reqwest::Client::new(),
            tokens: self.tokens.clone(),
            server: Some(server),
            dir: tempfile::tempdir().unwrap(),
            schema: None,
            clock: self.clock.clone(),
            config,
        }
    }

    /// Ends the PostgreSQL sessions listening to this schema's nodes (every node's); how
    /// many. Each node listens again and catches up from the store.
    pub async fn terminate_listeners(&self) -> i64 {
        let names = self.state().store.cluster.clone().expect("a node on PostgreSQL");
        sqlx::query_scalar(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE query LIKE 'LISTEN %' AND position($1 in query) > 0",
        )
        .bind(format!("\"{}\"", names.channel))
        .fetch_one(&self.state().store.read)
        .await
        .unwrap()
    }

    /// Whether this node runs the background jobs.
    pub fn leads(&self) -> bool {
        self.state().leadership.leads()
    }

    /// Stops this node gracefully (its sockets are told to resume elsewhere).
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
    }
}
