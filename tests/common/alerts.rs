//! One look of the helpers' mail alerts, as the server's minute loop takes it.

use super::TestApp;

impl TestApp {
    /// Mails sent by one round of alerts and digests.
    pub async fn alert_round(&self) -> usize {
        let state = self.state();
        let mailer = state.mailer.as_ref().expect("mail is configured");
        helpline::helpers::alerts::round(state, mailer).await.unwrap()
    }
}
