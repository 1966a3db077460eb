//! One look of the server's minute loops, taken when a test says so (with the test's
//! clock) instead of waiting for the loop.

use super::TestApp;

impl TestApp {
    /// Mails sent by one round of helpers' alerts and digests.
    pub async fn alert_round(&self) -> usize {
        let state = self.state();
        let mailer = state.mailer.as_ref().expect("mail is configured");
        helpline::helpers::alerts::round(state, mailer).await.unwrap()
    }

    /// Chats turned into e-mail conversations because their requester left.
    pub async fn departures_round(&self) -> usize {
        helpline::conversations::departures::round(self.state()).await.unwrap()
    }
}
